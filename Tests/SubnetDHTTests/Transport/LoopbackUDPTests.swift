import Dispatch
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension TransportTests {
    @Suite(.serialized) struct LoopbackUDPTests {
        @Test func sixteenNodesOnLoopbackStoreAndFindItems() async throws {
            let testnet = try await LoopbackTestnet.start(.init(size: 16, isolated: true))
            let nodes = testnet.nodes
            do {
                try await exercise(nodes)
            } catch {
                Issue.record(error)
            }
            await testnet.shutdown()
        }

        private func exercise(_ nodes: [DHTNode]) async throws {
            let seed = nodes[0].localEndpoint
            for node in nodes.dropFirst() {
                let joined = try await node.bootstrap(from: [seed])
                #expect(joined.responses >= 1)
            }
            for node in nodes { _ = try await node.findNode(node.localID) }
            for (index, node) in nodes.enumerated() {
                let stored = try await node.putMutable(.string("udp \(index)"))
                #expect(stored.accepted.count >= 6, "node \(index) stored on \(stored.accepted.count)")
            }
            var found = 0
            for (readerIndex, reader) in nodes.enumerated() {
                for (ownerIndex, owner) in nodes.enumerated() where ownerIndex != readerIndex && (ownerIndex + readerIndex) % 3 == 0 {
                    let item = try await reader.getMutable(publicKey: owner.publicKey)
                    #expect(item?.value == .string("udp \(ownerIndex)"), "reader \(readerIndex) owner \(ownerIndex)")
                    if item != nil { found += 1 }
                }
            }
            #expect(found > 60)
            let (target, put) = try await nodes[3].putImmutable(.string("immutable over udp"))
            #expect(put.accepted.count >= 6)
            #expect(try await nodes[12].getImmutable(target) == .string("immutable over udp"))
            let infoHash = NodeID.random()
            let announced = try await nodes[5].announcePeer(infoHash, port: 4242)
            #expect(announced.accepted.count >= 6)
            let peers = try await nodes[9].getPeers(infoHash)
            #expect(peers.peers == [Endpoint("127.0.0.1:4242")!])
            #expect(try await nodes[2].ping(nodes[7].localEndpoint) == nodes[7].localID)
        }

        /// A second node on a port in use must fail to start: with SO_REUSEADDR both bound, and
        /// the kernel could also give two nodes binding port 0 the same port, where one node's
        /// answers went to the other (the sixteen-node test above failed so in CI).
        @Test func aPortInUseIsRefused() async throws {
            let first = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 0))
            var second: DHTNode?
            do {
                second = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: Int(first.localEndpoint.port)))
                Issue.record("a second node bound \(first.localEndpoint)")
            } catch DHTNodeError.bindFailed(let text) {
                #expect(text.contains("\(first.localEndpoint.port)"), "the error names the address: \(text)")
            }
            await second?.shutdown()
            await first.shutdown()
        }

        @Test func hostileDatagramsNeitherCrashNorStopTheNode() async throws {
            let node = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 0))
            do {
                try await flood(node)
            } catch {
                Issue.record(error)
            }
            await node.shutdown()
        }

        private func flood(_ node: DHTNode) async throws {
            let attacker = try RawUDPSocket()
            let target = node.localEndpoint
            var generator = SplitMix64(seed: 11)
            let ping = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".utf8)
            let hostile: [[UInt8]] = [
                Array(ping.dropLast(3)),                                                         // truncated
                [UInt8](repeating: UInt8(ascii: "d"), count: 3000),                            // oversized
                Array("d1:t2:xx1:y1:q1:q4:ping1:ad2:id20:abcdefghij0123456789ee".utf8),        // unsorted keys
                Array((String(repeating: "l", count: 500) + String(repeating: "e", count: 500)).utf8), // deeply nested
                Array("d1:ad2:idi42ee1:q4:ping1:t2:ww1:y1:qe".utf8),                           // wrong type
                Array("d1:ad2:id20:abcdefghij0123456789e1:q3:put1:t2:pp1:y1:qe".utf8),         // put without arguments
                Array("d1:ad2:id20:abcdefghij01234567896:target3:abce1:q9:find_node1:t2:ff1:y1:qe".utf8), // short target
                Array("d1:rd2:id20:abcdefghij0123456789e1:t4:zzzz1:y1:re".utf8),               // unsolicited response
            ]
            var replies = [KRPCMessage]()
            for round in 0..<300 {
                for datagram in hostile { attacker.send(datagram, to: target) }
                let random = (0..<Int.random(in: 1...1400, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                attacker.send(random, to: target)
                // Pace the flood so the kernel's socket buffers do not drop most of it.
                if round % 5 == 4 { replies += attacker.drain() }
            }
            replies += attacker.drain()
            // Every reply is a well-formed 203 error; nothing is answered as if it were valid.
            #expect(replies.count >= 300)
            #expect(replies.allSatisfy { if case .error(let error) = $0.body { error.code == 203 } else { false } })
            let status = try await node.status()
            let statistics = status.statistics
            #expect(statistics.datagramsReceived >= 1000)
            #expect(statistics.oversizedDropped >= 50)
            // Each datagram was refused as malformed or oversized, ignored as an unsolicited
            // response, or dropped unparsed once the attacker ran out of its rate limit's tokens.
            #expect(statistics.malformedDropped + statistics.oversizedDropped + statistics.unmatchedResponses
                    + statistics.rateLimited == statistics.datagramsReceived)
            #expect(statistics.queriesAnswered == 0)
            #expect(status.pendingRequests == 0)
            #expect(status.routingTableSize == 0)
            // Still serving: a valid ping gets a pong.
            attacker.send(ping, to: target)
            let pong = attacker.drain().first { $0.transactionID == Array("aa".utf8) }
            guard case .response(let body)? = pong?.body else { Issue.record("no pong after the flood"); return }
            #expect(body.id == node.localID)
        }
    }
}

extension TransportTests {
    @Suite struct IPv6LoopbackTests {
        @Test func nodesOnIPv6LoopbackExchangeItems() async throws {
            let testnet = try await LoopbackTestnet.start(.init(size: 4, host: "::1", isolated: true), joining: .inTurn)
            let nodes = testnet.nodes
            do {
                #expect(nodes[0].localEndpoint.address == IPAddress("::1"))
                let stored = try await nodes[1].putMutable(.string("over IPv6"))
                #expect(stored.accepted.count == 3)
                #expect(try await nodes[3].getMutable(publicKey: nodes[1].publicKey)?.value == .string("over IPv6"))
                let contacts = try await nodes[0].contacts()
                #expect(contacts.count == 3 && contacts.allSatisfy { !$0.endpoint.address.isIPv4 })
            } catch {
                Issue.record(error)
            }
            await testnet.shutdown()
        }
    }
}

extension TransportTests {
    @Suite struct RecordsOverUDPTests {
        @Test func nodesAnnounceHeartbeatsAndEveryNodeReadsThem() async throws {
            let testnet = try await LoopbackTestnet.start(.init(size: 8, isolated: true), joining: .inTurn)
            let nodes = testnet.nodes
            do {
                for node in nodes { _ = try await node.findNode(node.localID) }
                var announced = [KeyedRecord]()
                for (index, node) in nodes.enumerated() where index % 2 == 0 {
                    let info = ServerInfo(state: .online, role: "worker", throughput: 1000, address: node.localEndpoint, name: "n\(index)")
                    let (record, result) = try await node.announce(key: "node", value: info.bencoded, ttl: .seconds(90))
                    #expect(result.accepted.count == 7)
                    announced.append(record)
                }
                // A record the policy refuses is reported with its code by every replica.
                let (_, refused) = try await nodes[1].announce(key: "node", value: .string("not a ServerInfo"), ttl: .seconds(90))
                #expect(refused.accepted.isEmpty)
                #expect(refused.rejected.count == 7 && refused.rejected.allSatisfy { $0.1.code == 209 })
                for node in nodes {
                    let read = try await node.records(key: "node")
                    #expect(read == announced.sorted { $0.owner < $1.owner })
                }
            } catch {
                Issue.record(error)
            }
            await testnet.shutdown()
        }
    }
}

extension TransportTests {
    @Suite struct UnreachableDestinationTests {
        /// A peer naming port 0, broadcast, IPv6 and off-loopback nodes must neither get those
        /// addresses queried nor kill the node's socket (NIO closes a channel on most send errors).
        @Test func poisonedNodeListsLeaveTheSocketOpen() async throws {
            let node = try await DHTNode.start(DHTNode.Configuration(host: "127.0.0.1", port: 0))
            let fake = try RawUDPSocket()
            let fakeID = NodeID.random()
            let poison: [NodeInfo] = [
                NodeInfo(id: .random(), endpoint: Endpoint(address: .v4(0x7f00_0001), port: 0)),
                NodeInfo(id: .random(), endpoint: Endpoint(address: .v4(0xffff_ffff), port: 6881)),
                NodeInfo(id: .random(), endpoint: Endpoint(address: .v4(0x0808_0808), port: 53)),
            ]
            let poison6 = [NodeInfo(id: .random(), endpoint: Endpoint(address: IPAddress("2001:db8::1")!, port: 6881))]
            let fakeEndpoint = Endpoint(address: .v4(0x7f00_0001), port: fake.port)
            // The fake answers on a GCD thread: its blocking receives must not occupy the
            // concurrency pool that the node's caller needs while other tests keep it busy.
            let nodeEndpoint = node.localEndpoint
            let responder = DispatchGroup()
            DispatchQueue.global().async(group: responder) {
                // Bounded: at most 200 waits of 50 ms; done once answered and the node has gone quiet.
                var answered = 0
                for _ in 0..<200 {
                    guard let bytes = fake.receive() else {
                        if answered > 0 { break }
                        continue
                    }
                    guard let query = try? KRPCCodec.decode(bytes), case .query = query.body else { continue }
                    let reply = KRPCMessage(transactionID: query.transactionID,
                                            body: .response(ResponseBody(id: fakeID, nodes: poison, nodes6: poison6, token: [1])))
                    fake.send(KRPCCodec.encode(reply), to: nodeEndpoint)
                    answered += 1
                }
            }
            let joined = try await node.bootstrap(from: [fakeEndpoint])
            responder.wait()
            #expect(joined.responses == 1)
            // The node still answers on the same socket.
            let ping = KRPCMessage(transactionID: [9, 9], body: .query(Query(senderID: fakeID, method: .ping)))
            fake.send(KRPCCodec.encode(ping), to: node.localEndpoint)
            let pong = fake.drain().first { $0.transactionID == [9, 9] }
            guard case .response(let body)? = pong?.body else {
                Issue.record("the node went deaf")
                await node.shutdown()
                return
            }
            #expect(body.id == node.localID)
            let status = try await node.status()
            #expect(status.socketReopens == 0)
            await node.shutdown()
        }
    }
}
