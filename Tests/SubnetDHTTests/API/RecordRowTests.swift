import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension APITests {
    /// The rows `records`, `peers`, `/records/KEY.json` and `/peers.json` all print.
    @Suite struct RecordRowTests {
        let owner = SigningKey.generate()
        let now = Timestamp(milliseconds: 1_795_451_475_000)

        @Test func aHeartbeatRendersWithTheDocumentedFieldsInOrder() {
            let info = ServerInfo(state: .online, role: "worker", throughput: 1500, address: Endpoint("127.0.0.1:6886")!,
                                  name: "node-5", version: "0.1.0")
            let record = RecordFixtures.heartbeat(owner, seq: 1_795_451_474_197, expires: 1_795_451_489, info: info)
            let expected = #"[{"owner":""# + owner.publicKey.hex
                + #"","seq":1795451474197,"exp":1795451489,"expires_in":14,"state":"online","role":"worker","addr":"127.0.0.1:6886","name":"node-5","ver":"0.1.0","tput":1500,"info":{}}]"#
            #expect(RecordListJSON.render([RecordRow(record: record)], now: now) == expected)
            // A live view keeps peers, not records: the same row either way.
            #expect(RecordRow(peer: Peer(record: record)!) == RecordRow(record: record))
        }

        @Test func optionalFieldsAreNullAndTextIsEscaped() {
            let info = ServerInfo(state: .joining, role: "miner", throughput: 12, address: Endpoint("[::1]:7000")!, name: "a\"b\n")
            let json = RecordListJSON.render([RecordRow(record: RecordFixtures.heartbeat(owner, seq: 1, expires: 1_795_451_470, info: info))], now: now)
            #expect(json.contains(#""expires_in":0,"state":"joining","role":"miner","addr":"[::1]:7000","name":"a\"b\n","ver":null,"tput":12,"info":{}}"#))
        }

        @Test func aValueThatIsNotAHeartbeatRendersAsItsBencoding() {
            let record = KeyedRecord.signed(key: Array("notes".utf8), value: .string("hi"), seq: 3, expires: 1_795_451_480, by: owner)
            let row = RecordRow(record: record)
            #expect(row.info == nil)
            #expect(RecordListJSON.render([row], now: now).hasSuffix(#""seq":3,"exp":1795451480,"expires_in":5,"value":"2:hi"}]"#))
            #expect(RecordListJSON.render([], now: now) == "[]")
        }

        @Test func offlineHeartbeatsOnlyWhenAskedFor() {
            let online = RecordFixtures.heartbeat(owner, seq: 5, expires: 1_795_451_489)
            let gone = RecordFixtures.heartbeat(SigningKey.generate(), seq: 5, expires: 1_795_451_489,
                                                info: RecordFixtures.serverInfo(state: .offline))
            #expect(RecordRow.records([online, gone], includeOffline: false).map(\.owner) == [online.owner])
            #expect(RecordRow.records([online, gone], includeOffline: true).count == 2)
        }

        @Test func throughputIsInThousandthsPerSecond() {
            #expect(RecordRow.throughputText(0) == "0.000/s")
            #expect(RecordRow.throughputText(12) == "0.012/s")
            #expect(RecordRow.throughputText(1500) == "1.500/s")
            #expect(RecordRow.throughputText(123_456) == "123.456/s")
        }
    }
}
