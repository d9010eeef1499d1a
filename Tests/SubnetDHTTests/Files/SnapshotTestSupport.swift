import Foundation
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// Snapshots, files and checks shared by the snapshot suites.
enum SnapshotFixtures {
    /// `ipv4` IPv4 contacts followed by `ipv6` IPv6 ones: the order a decoded snapshot uses.
    static func contacts(ipv4: Int, ipv6: Int, seed: UInt64 = 1) -> [NodeInfo] {
        var generator = SplitMix64(seed: seed)
        var out = [NodeInfo]()
        for index in 0..<ipv4 {
            let address = IPAddress.v4(0x0a00_0000 | UInt32(index + 1))
            out.append(NodeInfo(id: .random(using: &generator), endpoint: Endpoint(address: address, port: UInt16(6881 + index))))
        }
        for index in 0..<ipv6 {
            let address = IPAddress.v6(high: 0xfd00_0000_0000_0000, low: UInt64(index + 1))
            out.append(NodeInfo(id: .random(using: &generator), endpoint: Endpoint(address: address, port: UInt16(7881 + index))))
        }
        return out
    }

    /// `count` signed records under a handful of keys and owners, with heartbeat-like values.
    static func records(_ count: Int) -> [KeyedRecord] {
        let owners = (0..<4).map { _ in SigningKey.generate() }
        return (0..<count).map { index in
            let key = index % 3 == 0 ? Array("node".utf8) : Array("svc/\(index % 11)".utf8)
            let value: BValue = .dict([
                Array("role".utf8): .string(index % 2 == 0 ? "worker" : "gateway"),
                Array("name".utf8): .string("host-\(index)"),
                Array("port".utf8): .int(Int64(6881 + index % 100)),
                Array("tput".utf8): .int(Int64(index * 37)),
            ])
            return KeyedRecord.signed(key: key, value: value, seq: Int64(index), expires: 1_800_000_000 + Int64(index),
                                      by: owners[index % owners.count])
        }
    }

    static func snapshot(records count: Int, ipv4: Int = 8, ipv6: Int = 8) -> NodeSnapshot {
        NodeSnapshot(nodeID: .random(), contacts: contacts(ipv4: ipv4, ipv6: ipv6), records: records(count),
                     savedAt: Timestamp(milliseconds: 1_760_000_123_456))
    }

    /// A fresh directory per test (not created: `write` must create it), removed afterwards.
    static func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
        let parent = FileManager.default.temporaryDirectory
            .appendingPathComponent("subnetdht-snapshot-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try body(parent + "/state")
    }

    static func snapshotPath(_ directory: String) -> String { directory + "/" + SnapshotFile.fileName }
    static func temporaryPath(_ directory: String) -> String { directory + "/" + SnapshotFile.temporaryFileName }

    static func fileBytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Puts `bytes` at `path`, creating the directory if needed.
    static func writeBytes(_ bytes: [UInt8], to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func permissions(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int)
    }

    /// The outcome of reading `directory`, as a value tests can match on.
    static func readResult(_ directory: String) -> Result<LoadedSnapshot?, SnapshotError> {
        do throws(SnapshotError) {
            return .success(try SnapshotFile.read(from: directory))
        } catch {
            return .failure(error)
        }
    }

    /// The reason of the `.corrupt` error reading `directory` gives, or nil (with a recorded
    /// issue) if it read anything or failed otherwise.
    @discardableResult
    static func expectCorrupt(_ directory: String, _ context: String = "",
                              sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        switch readResult(directory) {
        case .failure(.corrupt(let reason)):
            return reason
        case .failure(let error):
            Issue.record("expected .corrupt, got \(error) \(context)", sourceLocation: sourceLocation)
        case .success(let loaded):
            Issue.record("a damaged file was read (\(loaded == nil ? "as missing" : "as a snapshot")) \(context)",
                         sourceLocation: sourceLocation)
        }
        return nil
    }

    /// A container around `payload` with a correct checksum, for payload-level faults.
    static func sealed(_ payload: [UInt8]) throws -> [UInt8] {
        try SnapshotFile.seal(payload: payload)
    }

    /// `container` with its checksum recomputed after an edit, so only the edit is at fault.
    static func resealed(_ container: [UInt8]) -> [UInt8] {
        var body = Array(container.dropLast(4))
        let crc = CRC32C.checksum(body)
        body += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)]
        return body
    }

    static func setUInt32(_ value: UInt32, in bytes: inout [UInt8], at offset: Int) {
        bytes[offset] = UInt8(value >> 24)
        bytes[offset + 1] = UInt8(value >> 16 & 0xff)
        bytes[offset + 2] = UInt8(value >> 8 & 0xff)
        bytes[offset + 3] = UInt8(value & 0xff)
    }
}
