@testable import SubnetDHT
@testable import SubnetDHTCore

/// Heartbeat-shaped records for tests.
enum RecordFixtures {
    static let nodeKey = Array("node".utf8)

    static func serverInfo(port: UInt16 = 6881, state: ServerInfo.State = .online, role: String = "worker",
                           name: String? = nil) -> ServerInfo {
        ServerInfo(state: state, role: role, throughput: 1500, address: Endpoint(address: .v4(0x7f00_0001), port: port),
                   name: name, version: "0.1.0")
    }

    static func heartbeat(_ owner: SigningKey, seq: Int64, expires: Int64, info: ServerInfo? = nil) -> KeyedRecord {
        KeyedRecord.signed(key: nodeKey, value: (info ?? serverInfo()).bencoded, seq: seq, expires: expires, by: owner)
    }

    /// `announce_record` arguments for `record`, with `token`, optionally altered by `edit`.
    static func arguments(_ record: KeyedRecord, token: [UInt8], edit: (inout [[UInt8]: BValue]) -> Void = { _ in }) -> [[UInt8]: BValue] {
        var arguments = record.announceArguments
        arguments[Array("token".utf8)] = .bytes(token)
        edit(&arguments)
        return arguments
    }
}
