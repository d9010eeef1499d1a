import Foundation
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension FilesTests {
    /// Damaged files: every one is a `.corrupt` (or `.unsupportedVersion`) value, never a
    /// crash, never nil, never a snapshot other than the one written.
    @Suite struct SnapshotCorruptionTests {
        typealias F = SnapshotFixtures

        /// A valid container spanning two chunks, and the offsets of its chunk headers.
        private static func twoChunkContainer() throws -> (bytes: [UInt8], chunkHeaders: [Int]) {
            let bytes = try SnapshotFile.seal(payload: F.snapshot(records: 600).encoded())
            var headers = [Int]()
            var position = 12
            for _ in 0..<SnapshotFile.uint32(bytes, at: 8) {
                headers.append(position)
                position += 8 + Int(SnapshotFile.uint32(bytes, at: position + 4))
            }
            #expect(headers.count >= 2)
            #expect(position == bytes.count - 4)
            return (bytes, headers)
        }

        @Test func fileCutOffAnywhereIsCorrupt() throws {
            let (bytes, headers) = try Self.twoChunkContainer()
            let size = bytes.count
            // The header, each chunk boundary, evenly spaced cuts and the last bytes.
            var cuts: Set<Int> = [0, 1, 4, 7, 8, 9, 11, 12, 13, 16, 19, 20, 21]
            for header in headers { cuts.formUnion([header - 1, header, header + 4, header + 7, header + 8, header + 9]) }
            for step in 1..<30 { cuts.insert(size * step / 30) }
            cuts.formUnion([size - 8, size - 5, size - 4, size - 3, size - 2, size - 1])
            #expect(cuts.count >= 50)

            try F.withTemporaryDirectory { directory in
                for cut in cuts.sorted() {
                    try F.writeBytes(Array(bytes.prefix(cut)), to: F.snapshotPath(directory))
                    F.expectCorrupt(directory, "cut at \(cut) of \(size)")
                }
                // The intact file still reads, so the cuts were what failed.
                try F.writeBytes(bytes, to: F.snapshotPath(directory))
                #expect(try SnapshotFile.read(from: directory)?.snapshot.records.count == 600)
            }
        }

        @Test func flippedByteAnywhereIsDetected() throws {
            let (bytes, headers) = try Self.twoChunkContainer()
            let size = bytes.count
            var positions = Set(0..<24)
            for header in headers { positions.formUnion(header..<(header + 8)) }
            for step in 0..<40 { positions.insert(size * step / 40) }
            positions.formUnion((size - 8)..<size)

            try F.withTemporaryDirectory { directory in
                for position in positions.sorted() {
                    for mask: UInt8 in [1 << UInt8(position % 8), 0xff] {
                        var damaged = bytes
                        damaged[position] ^= mask
                        try F.writeBytes(damaged, to: F.snapshotPath(directory))
                        F.expectCorrupt(directory, "byte \(position) xor \(mask)")
                    }
                }
            }
        }

        @Test func chunkHeadersThatLieAreRefusedEvenWithAValidChecksum() throws {
            let (bytes, headers) = try Self.twoChunkContainer()
            let firstCompressed = Int(SnapshotFile.uint32(bytes, at: headers[0] + 4))
            let small = try SnapshotFile.seal(payload: F.snapshot(records: 1).encoded())

            func edited(_ base: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
                var copy = base
                edit(&copy)
                return F.resealed(copy)
            }
            let cases: [(name: String, bytes: [UInt8], reason: String)] = [
                ("no chunks", edited(bytes) { F.setUInt32(0, in: &$0, at: 8) }, "no chunks"),
                ("huge chunk count", edited(bytes) { F.setUInt32(.max, in: &$0, at: 8) }, "exceeds the cap"),
                ("count over the cap", edited(bytes) { F.setUInt32(1025, in: &$0, at: 8) }, "exceeds the cap"),
                ("count past the file", edited(small) { F.setUInt32(1000, in: &$0, at: 8) }, "does not fit"),
                ("one chunk too many", edited(bytes) { F.setUInt32(UInt32(headers.count + 1), in: &$0, at: 8) }, "past the end"),
                ("zero-length chunk", edited(bytes) { F.setUInt32(0, in: &$0, at: headers[0]) }, "uncompressed bytes"),
                ("chunk over 64 KiB", edited(bytes) { F.setUInt32(65_537, in: &$0, at: headers[0]) }, "uncompressed bytes"),
                ("chunk of 4 GiB", edited(bytes) { F.setUInt32(.max, in: &$0, at: headers[0]) }, "uncompressed bytes"),
                ("compressed past the end", edited(bytes) { F.setUInt32(.max, in: &$0, at: headers[0] + 4) }, "compressed bytes"),
                ("empty compressed block", edited(bytes) { F.setUInt32(0, in: &$0, at: headers[1] + 4) }, "compressed bytes"),
                ("last chunk past the end", edited(bytes) {
                    F.setUInt32(SnapshotFile.uint32($0, at: headers[1] + 4) + 1, in: &$0, at: headers[1] + 4)
                }, "compressed bytes"),
                ("stray bytes", edited(bytes) { $0.insert(contentsOf: [0, 0, 0], at: $0.count - 4) }, "stray bytes"),
                ("short original length", edited(bytes) {
                    F.setUInt32(SnapshotFile.uint32($0, at: headers[0]) - 1, in: &$0, at: headers[0])
                }, "does not decompress"),
                ("long original length", edited(small) {
                    F.setUInt32(SnapshotFile.uint32($0, at: 12) + 1, in: &$0, at: 12)
                }, "does not decompress"),
                ("garbage LZ4 data", edited(bytes) {
                    for offset in (headers[0] + 8)..<(headers[0] + 8 + min(firstCompressed, 64)) { $0[offset] = 0xff }
                }, "does not decompress"),
            ]
            try F.withTemporaryDirectory { directory in
                for fault in cases {
                    try F.writeBytes(fault.bytes, to: F.snapshotPath(directory))
                    let reason = F.expectCorrupt(directory, fault.name)
                    #expect(reason?.contains(fault.reason) == true, "\(fault.name): \(reason ?? "no error")")
                    #expect(reason?.contains(F.snapshotPath(directory)) == true, "the error names the file")
                }
            }
        }

        @Test func intactContainerWithABadPayloadIsCorrupt() throws {
            let snapshot = F.snapshot(records: 2)
            guard case .dict(let root) = try Bencode.decode(snapshot.encoded()) else { Issue.record("not a dict"); return }
            func payload(_ edit: (inout [[UInt8]: BValue]) -> Void) -> [UInt8] {
                var copy = root
                edit(&copy)
                return Bencode.encode(.dict(copy))
            }
            let cases: [(name: String, payload: [UInt8], reason: String)] = [
                ("not bencode", Array("this is not bencode".utf8), "bencode"),
                ("trailing bytes", snapshot.encoded() + [0x65], "bencode"),
                ("a list", Bencode.encode(.list([.int(1)])), "not a dictionary"),
                ("no version", payload { $0[Array("v".utf8)] = nil }, "field v"),
                ("text version", payload { $0[Array("v".utf8)] = .string("1") }, "field v"),
                ("no id", payload { $0[Array("id".utf8)] = nil }, "field id"),
                ("short id", payload { $0[Array("id".utf8)] = .bytes([UInt8](repeating: 1, count: 19)) }, "field id"),
                ("no time", payload { $0[Array("t".utf8)] = nil }, "field t"),
                ("ragged nodes", payload { $0[Array("nodes".utf8)] = .bytes([UInt8](repeating: 1, count: 27)) }, "field nodes"),
                ("no nodes6", payload { $0[Array("nodes6".utf8)] = nil }, "field nodes6"),
                ("IPv4 in nodes6", payload { $0[Array("nodes6".utf8)] = .bytes([UInt8](repeating: 1, count: 26)) }, "field nodes6"),
                ("records not a list", payload { $0[Array("records".utf8)] = .dict([:]) }, "field records"),
            ]
            try F.withTemporaryDirectory { directory in
                for fault in cases {
                    try F.writeBytes(try F.sealed(fault.payload), to: F.snapshotPath(directory))
                    let reason = F.expectCorrupt(directory, fault.name)
                    #expect(reason?.contains(fault.reason) == true, "\(fault.name): \(reason ?? "no error")")
                }
            }
        }

        @Test func otherFormatVersionIsUnsupported() throws {
            guard case .dict(var root) = try Bencode.decode(F.snapshot(records: 1).encoded()) else { Issue.record("not a dict"); return }
            root[Array("v".utf8)] = .int(2)
            try F.withTemporaryDirectory { directory in
                try F.writeBytes(try F.sealed(Bencode.encode(.dict(root))), to: F.snapshotPath(directory))
                #expect(throws: SnapshotError.unsupportedVersion(2)) { try SnapshotFile.read(from: directory) }
            }
        }

        @Test func randomBytesAreCorrupt() throws {
            var generator = SplitMix64(seed: 0x5eed)
            try F.withTemporaryDirectory { directory in
                for size in [0, 1, 7, 8, 15, 16, 17, 100, 4_096, 70_000] {
                    let random = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    try F.writeBytes(random, to: F.snapshotPath(directory))
                    F.expectCorrupt(directory, "\(size) random bytes")
                    // Behind a correct magic, too.
                    try F.writeBytes(SnapshotFile.magic + random, to: F.snapshotPath(directory))
                    F.expectCorrupt(directory, "magic and \(size) random bytes")
                }
            }
        }

        /// Random edits behind a recomputed checksum reach the chunk walker, LZ4 and the
        /// bencode parser with hostile input: each read ends in a value, whatever it is.
        @Test func randomEditsWithAValidChecksumNeverCrash() throws {
            var generator = SplitMix64(seed: 42)
            let bytes = try SnapshotFile.seal(payload: F.snapshot(records: 20).encoded())
            try F.withTemporaryDirectory { directory in
                for _ in 0..<200 {
                    var damaged = Array(bytes.dropLast(4))
                    for _ in 0..<Int.random(in: 1...4, using: &generator) {
                        let position = Int.random(in: 8..<damaged.count, using: &generator)
                        damaged[position] = UInt8.random(in: 0...255, using: &generator)
                    }
                    try F.writeBytes(F.resealed(damaged + [0, 0, 0, 0]), to: F.snapshotPath(directory))
                    switch F.readResult(directory) {
                    case .success(nil): Issue.record("an existing file read as missing")
                    case .success, .failure(.corrupt), .failure(.unsupportedVersion): break
                    case .failure(let error): Issue.record("unexpected \(error)")
                    }
                }
            }
        }

        @Test func oversizedFileIsRefusedWithoutReadingIt() throws {
            try F.withTemporaryDirectory { directory in
                try F.writeBytes(SnapshotFile.magic, to: F.snapshotPath(directory))
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: F.snapshotPath(directory)))
                try handle.truncate(atOffset: UInt64(SnapshotFile.maxFileSize + 1))  // sparse
                try handle.close()
                let reason = F.expectCorrupt(directory)
                #expect(reason?.contains("larger than any snapshot") == true)
            }
        }

        @Test func aDirectoryInPlaceOfTheFileIsCorrupt() throws {
            try F.withTemporaryDirectory { directory in
                try FileManager.default.createDirectory(atPath: F.snapshotPath(directory), withIntermediateDirectories: true)
                let reason = F.expectCorrupt(directory)
                #expect(reason?.contains("not a regular file") == true)
            }
        }
    }
}
