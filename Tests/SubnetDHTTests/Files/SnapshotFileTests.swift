import Foundation
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension FilesTests {
    /// Writing and reading back: round trips, the file's shape, modes and crash leftovers.
    @Suite struct SnapshotFileTests {
        typealias F = SnapshotFixtures

        @Test(arguments: [0, 1, 5_000])
        func roundTripsWithIPv4AndIPv6Contacts(recordCount: Int) throws {
            let snapshot = F.snapshot(records: recordCount, ipv4: 20, ipv6: 12)
            try F.withTemporaryDirectory { directory in
                try SnapshotFile.write(snapshot, to: directory)
                let loaded = try #require(try SnapshotFile.read(from: directory))
                #expect(loaded.skippedRecords == 0)
                #expect(loaded.snapshot == snapshot)
                #expect(loaded.snapshot.records.count == recordCount)
                #expect(loaded.snapshot.contacts.filter { !$0.endpoint.address.isIPv4 }.count == 12)

                let bytes = try F.fileBytes(F.snapshotPath(directory))
                #expect(Array(bytes.prefix(8)) == Array("SDHTSNP1".utf8))
                let chunkCount = SnapshotFile.uint32(bytes, at: 8)
                let payloadSize = snapshot.encoded().count
                #expect(Int(chunkCount) == (payloadSize + 65_535) / 65_536)
                if recordCount == 5_000 {
                    #expect(chunkCount >= 3, "5,000 records must span several chunks (\(payloadSize) bytes)")
                    #expect(bytes.count < payloadSize, "chunks are compressed")
                }
            }
        }

        @Test func contactsComeBackIPv4FirstThenIPv6InSavedOrder() throws {
            let v4 = F.contacts(ipv4: 3, ipv6: 0, seed: 7)
            let v6 = F.contacts(ipv4: 0, ipv6: 3, seed: 8)
            let mixed = [v6[0], v4[0], v6[1], v4[1], v4[2], v6[2]]
            let snapshot = NodeSnapshot(nodeID: .random(), contacts: mixed, records: [], savedAt: Timestamp(milliseconds: -5))
            let decoded = try NodeSnapshot.decode(snapshot.encoded())
            #expect(decoded.snapshot.contacts == v4 + v6)
            #expect(decoded.snapshot.savedAt == Timestamp(milliseconds: -5))
        }

        @Test func payloadIsTheDocumentedBencodeDictionary() throws {
            let record = KeyedRecord.signed(key: Array("node".utf8), value: .string("hi"), seq: 3, expires: 1_900_000_000,
                                            by: SigningKey.generate())
            let contacts = F.contacts(ipv4: 1, ipv6: 1)
            let snapshot = NodeSnapshot(nodeID: .random(), contacts: contacts, records: [record],
                                        savedAt: Timestamp(milliseconds: 42))
            let root = try Bencode.decode(snapshot.encoded(), maxDepth: NodeSnapshot.payloadMaxDepth)
            #expect(root["v"] == .int(1))
            #expect(root["id"] == .bytes(snapshot.nodeID.bytes))
            #expect(root["t"] == .int(42))
            #expect(root["nodes"] == .bytes(contacts[0].compact))
            #expect(root["nodes"]?.bytesValue?.count == 26)
            #expect(root["nodes6"] == .bytes(contacts[1].compact))
            #expect(root["nodes6"]?.bytesValue?.count == 38)
            let entry = try #require(root["records"]?.listValue?.first)
            #expect(entry["key"] == .bytes(Array("node".utf8)))
            for field in ["k", "seq", "exp", "v", "sig"] {
                #expect(entry[field] == record.wireDictionary[field], "\(field)")
            }
            #expect(entry.dictValue?.count == 6)
        }

        @Test func createsMissingDirectoriesWith0700AndTheFileWith0600() throws {
            try F.withTemporaryDirectory { directory in
                let nested = directory + "/a/b"
                try SnapshotFile.write(F.snapshot(records: 3), to: nested)
                #expect(try F.permissions(F.snapshotPath(nested)) == 0o600)
                #expect(try F.permissions(nested) == 0o700)
                #expect(try F.permissions(directory + "/a") == 0o700)

                // Rewriting keeps the mode and leaves no temporary file behind.
                try SnapshotFile.write(F.snapshot(records: 4), to: nested + "/")
                #expect(try F.permissions(F.snapshotPath(nested)) == 0o600)
                #expect(try FileManager.default.contentsOfDirectory(atPath: nested) == [SnapshotFile.fileName])
                #expect(try SnapshotFile.read(from: nested)?.snapshot.records.count == 4)
            }
        }

        @Test func aNewerWriteReplacesTheOlderSnapshot() throws {
            try F.withTemporaryDirectory { directory in
                let first = F.snapshot(records: 10)
                let second = F.snapshot(records: 2)
                try SnapshotFile.write(first, to: directory)
                try SnapshotFile.write(second, to: directory)
                #expect(try SnapshotFile.read(from: directory)?.snapshot == second)
            }
        }

        @Test func leftoverTemporaryFileFromACrashedWriteIsIgnoredAndReplaced() throws {
            try F.withTemporaryDirectory { directory in
                let good = F.snapshot(records: 50)
                try SnapshotFile.write(good, to: directory)

                // A crash halfway through writing a newer snapshot leaves part of it in the
                // temporary file (mode 0644 here, as if written by something else).
                let newer = F.snapshot(records: 80)
                let newerBytes = try SnapshotFile.seal(payload: newer.encoded())
                try F.writeBytes(Array(newerBytes.prefix(newerBytes.count / 2)), to: F.temporaryPath(directory))
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: F.temporaryPath(directory))
                #expect(try SnapshotFile.read(from: directory)?.snapshot == good)

                // So does a crash after the temporary file was complete but before the rename.
                try F.writeBytes(newerBytes, to: F.temporaryPath(directory))
                #expect(try SnapshotFile.read(from: directory)?.snapshot == good)

                // The next write replaces the leftover and succeeds.
                try SnapshotFile.write(newer, to: directory)
                #expect(try SnapshotFile.read(from: directory)?.snapshot == newer)
                #expect(try F.permissions(F.snapshotPath(directory)) == 0o600)
                #expect(!FileManager.default.fileExists(atPath: F.temporaryPath(directory)))
            }
        }

        @Test func missingDirectoryOrFileReadsAsNil() throws {
            try F.withTemporaryDirectory { directory in
                #expect(try SnapshotFile.read(from: directory) == nil)
                #expect(try SnapshotFile.read(from: directory + "/deeper/still") == nil)
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                #expect(try SnapshotFile.read(from: directory) == nil)
                // Only a temporary file: a first write that crashed. Still no snapshot.
                try F.writeBytes(Array("SDHTSNP1".utf8), to: F.temporaryPath(directory))
                #expect(try SnapshotFile.read(from: directory) == nil)
            }
        }

        @Test func recordsThatDoNotParseAreSkippedAndCounted() throws {
            let good = F.records(3)
            let goodEntries: [BValue] = good.map { record in
                guard case .dict(var fields) = record.wireDictionary else { return .int(0) }
                fields[Array("key".utf8)] = .bytes(record.key)
                return .dict(fields)
            }
            func entry(_ edit: (inout [[UInt8]: BValue]) -> Void) -> BValue {
                guard case .dict(var fields) = goodEntries[0] else { return .int(0) }
                edit(&fields)
                return .dict(fields)
            }
            let badEntries: [BValue] = [
                .int(7),
                .list([]),
                entry { $0[Array("key".utf8)] = nil },
                entry { $0[Array("key".utf8)] = .int(1) },
                entry { $0[Array("key".utf8)] = .bytes([UInt8](repeating: 0x61, count: 65)) },
                entry { $0[Array("sig".utf8)] = .bytes([1, 2, 3]) },
                entry { $0[Array("seq".utf8)] = .int(-1) },
                entry { $0[Array("k".utf8)] = nil },
            ]
            // Bad entries before, between and after the good ones.
            var entries = [badEntries[0]]
            entries += goodEntries[0..<2]
            entries += badEntries[1...]
            entries.append(goodEntries[2])
            let snapshot = F.snapshot(records: 0)
            guard case .dict(var root) = try Bencode.decode(snapshot.encoded()) else { Issue.record("not a dict"); return }
            root[Array("records".utf8)] = .list(entries)
            try F.withTemporaryDirectory { directory in
                try F.writeBytes(try F.sealed(Bencode.encode(.dict(root))), to: F.snapshotPath(directory))
                let loaded = try #require(try SnapshotFile.read(from: directory))
                #expect(loaded.skippedRecords == 8)
                #expect(loaded.snapshot.records == good)
                #expect(loaded.snapshot.contacts == snapshot.contacts)
                #expect(loaded.snapshot.nodeID == snapshot.nodeID)
            }
        }

        @Test func writeFailuresAreIOErrors() throws {
            try F.withTemporaryDirectory { directory in
                // The "directory" is a regular file.
                try F.writeBytes([1, 2, 3], to: directory + "/file")
                let error = #expect(throws: SnapshotError.self) {
                    try SnapshotFile.write(F.snapshot(records: 1), to: directory + "/file")
                }
                if case .io? = error {} else { Issue.record("expected .io, got \(String(describing: error))") }
                #expect(throws: SnapshotError.io("snapshot directory path is empty")) {
                    try SnapshotFile.write(F.snapshot(records: 1), to: "")
                }
            }
        }

        @Test func oversizedPayloadIsRefusedBeforeWriting() {
            #expect(throws: SnapshotError.tooLarge(SnapshotFile.maxPayloadSize + 1)) {
                try SnapshotFile.seal(payload: [UInt8](repeating: 0, count: SnapshotFile.maxPayloadSize + 1))
            }
        }

        @Test func errorsDescribeThemselves() {
            #expect(SnapshotError.corrupt("checksum mismatch").description.contains("checksum mismatch"))
            #expect(SnapshotError.unsupportedVersion(9).description.contains("9"))
            #expect(SnapshotError.io("cannot fsync").description.contains("cannot fsync"))
            #expect(SnapshotError.tooLarge(5).description.contains("5 bytes"))
        }
    }
}
