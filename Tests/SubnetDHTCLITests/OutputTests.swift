import Foundation
import Logging
import SubnetDHT
import Testing
@testable import subnet_dht

/// What the tool prints for people: the human tables of `records` and `peers`, and the JSON
/// log lines of `run --json-logs`.
@Suite struct OutputTests {
    let now = Timestamp(milliseconds: 1_795_451_475_000)

    func heartbeat(_ owner: SigningKey, name: String?, state: ServerInfo.State = .online, role: String = "worker") -> RecordRow {
        let info = ServerInfo(state: state, role: role, throughput: 1500, address: Endpoint("127.0.0.1:6886")!,
                              name: name, version: "0.1.0")
        let record = KeyedRecord.signed(key: Array("node".utf8), value: info.bencoded, seq: 42, expires: 1_795_451_489, by: owner)
        return RecordRow(record: record)
    }

    @Test func subnetFieldsGetAnInfoColumnOnlyWhenAPeerPublishesThem() {
        let first = SigningKey.generate(), second = SigningKey.generate()
        var info = ServerInfo(state: .online, role: "miner", throughput: 0, address: Endpoint("127.0.0.1:6886")!, name: nil, version: "0.1.0")
        info.info = ["stake": .integer(5), "zone": .string("eu"), "note": .string("two words")]
        let record = KeyedRecord.signed(key: Array("node".utf8), value: info.bencoded, seq: 42, expires: 1_795_451_489, by: first)
        let lines = RecordTable.text([RecordRow(record: record), heartbeat(second, name: nil)], now: now).split(separator: "\n").map(String.init)
        #expect(lines[0].split(separator: " ") == ["OWNER", "STATE", "ROLE", "NAME", "ADDRESS", "TPUT", "VERSION", "INFO", "SEQ", "EXPIRES"])
        #expect(lines[1].contains(#"note="two words" stake=5 zone=eu"#))
        #expect(lines[2].split(separator: " ")[7] == "-")
        // In JSON every heartbeat row has `info`, `{}` when it has none.
        let json = RecordTable.json([RecordRow(record: record), heartbeat(second, name: nil)], now: now)
        #expect(json.contains(#""info":{"note":"two words","stake":5,"zone":"eu"}"#))
        #expect(json.contains(#""info":{}"#))
    }

    @Test func watchingAsJSONPrintsOneEventALine() throws {
        let a = SigningKey.generate(), b = SigningKey.generate()
        func record(_ owner: SigningKey, _ state: ServerInfo.State, seq: Int64, tput: Int64 = 0, pings: [String: Int64] = [:]) -> KeyedRecord {
            let info = ServerInfo(state: state, role: "worker", throughput: tput, address: Endpoint("127.0.0.1:6886")!, pings: pings)
            return KeyedRecord.signed(key: Array("node".utf8), value: info.bencoded, seq: seq, expires: now.seconds + 10, by: owner)
        }
        var events = PeerEvents()
        func kinds(_ records: [KeyedRecord]) -> [String] {
            events.update(with: records, now: now).map { "\($0.kind.rawValue) \($0.peer.owner == a.publicKey ? "a" : "b")" }.sorted()
        }
        #expect(kinds([record(a, .online, seq: 1), record(b, .joining, seq: 1)]) == ["joined a", "joined b"])
        // A refresh, and new round-trip times, are no change; a state or throughput change is.
        #expect(kinds([record(a, .online, seq: 2, pings: ["0011223344556677": 900]), record(b, .online, seq: 2)]) == ["changed b"])
        #expect(kinds([record(a, .online, seq: 3, tput: 12_500), record(b, .online, seq: 2)]) == ["changed a"])
        #expect(kinds([record(a, .offline, seq: 4), record(b, .online, seq: 2)]) == ["left a"])
        #expect(kinds([record(a, .offline, seq: 4)]) == ["expired b"])
        #expect(kinds([record(a, .offline, seq: 4)]).isEmpty)
        let line = PeerEvents.line(.joined, Peer(record: record(b, .online, seq: 5))!, now: now)
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(parsed?["event"] as? String == "joined")
        #expect((parsed?["peer"] as? [String: Any])?["owner"] as? String == b.publicKey.hex)
        #expect(!line.contains("\n"))
    }

    @Test func aHeartbeatTableHasAHeaderAndAlignedColumns() {
        let first = SigningKey.generate(), second = SigningKey.generate()
        let table = RecordTable.text([heartbeat(first, name: "a-rather-long-name"), heartbeat(second, name: nil, state: .joining, role: "miner")], now: now)
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].split(separator: " ") == ["OWNER", "STATE", "ROLE", "NAME", "ADDRESS", "TPUT", "VERSION", "SEQ", "EXPIRES"])
        #expect(lines[1].split(separator: " ") == [Substring(first.publicKey.hex.prefix(16)), "online", "worker", "a-rather-long-name",
                                                   "127.0.0.1:6886", "1.500/s", "0.1.0", "42", "in", "14", "s"])
        #expect(lines[2].split(separator: " ") == [Substring(second.publicKey.hex.prefix(16)), "joining", "miner", "-",
                                                   "127.0.0.1:6886", "1.500/s", "0.1.0", "42", "in", "14", "s"])
        // Every column starts at the same offset on every line.
        for column in ["STATE", "NAME", "ADDRESS", "EXPIRES"] {
            let offset = lines[0].range(of: column)!.lowerBound.utf16Offset(in: lines[0])
            for line in lines.dropFirst() {
                let index = line.index(line.startIndex, offsetBy: offset)
                #expect(line[line.index(before: index)] == " " && line[index] != " ", "\(column) in \(line)")
            }
        }
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
    }

    @Test func aValueTableShowsTheBencodingCutTo40Characters() {
        let owner = SigningKey.generate()
        let long = KeyedRecord.signed(key: Array("jobs".utf8), value: .string(String(repeating: "x", count: 60)), seq: 3,
                                      expires: 1_795_451_480, by: owner)
        let lines = RecordTable.text([RecordRow(record: long)], now: now).split(separator: "\n")
        #expect(lines[0].split(separator: " ") == ["OWNER", "VALUE", "SEQ", "EXPIRES"])
        #expect(lines[1].split(separator: " ") == [Substring(owner.publicKey.hex.prefix(16)), "60:" + String(repeating: "x", count: 37),
                                                   "3", "in", "5", "s"])
    }

    @Test func aValueAmongHeartbeatsGoesInTheNameColumn() {
        let owner = SigningKey.generate()
        let value = RecordRow(record: KeyedRecord.signed(key: Array("node".utf8), value: .string("hi"), seq: 3,
                                                         expires: 1_795_451_480, by: owner))
        let lines = RecordTable.text([heartbeat(SigningKey.generate(), name: "n"), value], now: now).split(separator: "\n")
        #expect(lines[2].split(separator: " ") == [Substring(owner.publicKey.hex.prefix(16)), "-", "-", "2:hi", "-", "-", "-", "3", "in", "5", "s"])
    }

    @Test func noRecordsSaysSo() {
        #expect(RecordTable.text([], now: now) == "(no records)")
        #expect(RecordTable.json([], now: now) == "[]")
    }

    @Test func jsonLogLinesAreOneObjectEachWithLevelMessageAndMetadata() throws {
        var handler = JSONLogHandler(label: "subnet-dht")
        handler[metadataKey: "peer"] = "a\"b"
        let event = LogEvent(level: .warning, message: "no answer from the bootstrap nodes; retrying",
                             metadata: ["in": "2 seconds", "peer": "c\nd"], source: nil, file: #fileID, function: #function, line: #line)
        let line = handler.line(for: event)
        #expect(!line.contains("\n"))
        let fields = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(fields["level"] as? String == "warning")
        #expect(fields["label"] as? String == "subnet-dht")
        #expect(fields["message"] as? String == "no answer from the bootstrap nodes; retrying")
        #expect(fields["in"] as? String == "2 seconds")
        // The event's metadata wins over the handler's.
        #expect(fields["peer"] as? String == "c\nd")
        #expect((fields["time"] as? NSNumber).map { $0.int64Value > 1_700_000_000_000 } == true)
    }
}
