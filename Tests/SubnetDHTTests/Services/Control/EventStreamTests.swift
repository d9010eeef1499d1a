import NIOPosix
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension ControlTests {
    @Suite struct EventJournalTests {
        static let now = Timestamp(seconds: 1_700_000_000)

        static func peer(_ key: SigningKey, state: ServerInfo.State = .online, tput: Int64 = 0) -> Peer {
            Peer(owner: key.publicKey, info: ServerInfo(state: state, role: "worker", throughput: tput, address: Endpoint("127.0.0.1:7000")!),
                 seq: 1, expires: now.seconds + 90)
        }

        @Test func aNewReaderGetsTheViewThenTheEventsAfterIt() {
            let journal = EventJournal()
            #expect(journal.read(after: nil) == .reset(id: 0, live: []))
            let a = SigningKey.generate(), b = SigningKey.generate()
            journal.record(.joined(Self.peer(a)))
            journal.record(.joined(Self.peer(b)))
            journal.record(.changed(Self.peer(a, tput: 12_500)))
            journal.record(.left(Self.peer(b, state: .offline)))
            #expect(journal.read(after: nil) == .reset(id: 4, live: [Self.peer(a, tput: 12_500)]))
            guard case .events(let entries) = journal.read(after: 1) else { Issue.record("no events"); return }
            #expect(entries.map(\.id) == [2, 3, 4] && entries.map(\.name) == ["joined", "changed", "left"])
            #expect(journal.read(after: 4) == .events([]))
        }

        @Test func aReaderBehindTheKeptEventsOrFromAnotherRunIsReset() {
            let journal = EventJournal(capacity: 3)
            let keys = (0..<5).map { _ in SigningKey.generate() }
            for key in keys { journal.record(.joined(Self.peer(key))) }
            // Events 3...5 are kept: a reader at 2 misses none, one at 1 missed event 2.
            guard case .events(let kept) = journal.read(after: 2) else { Issue.record("no events"); return }
            #expect(kept.map(\.id) == [3, 4, 5])
            guard case .reset(let id, let live) = journal.read(after: 1) else { Issue.record("no reset"); return }
            #expect(id == 5 && live.count == 5)
            // An id the journal never gave (the node restarted since) is a reset too.
            guard case .reset = journal.read(after: 99) else { Issue.record("no reset for a future id"); return }
            guard case .reset = journal.read(after: -3) else { Issue.record("no reset for a negative id"); return }
        }

        @Test func aStateChangeIsAChangeAndAnExpiryLeavesTheView() {
            let journal = EventJournal()
            let a = SigningKey.generate()
            journal.record(.joined(Self.peer(a, state: .joining)))
            journal.record(.stateChanged(Self.peer(a), from: .joining))
            journal.record(.expired(Self.peer(a)))
            guard case .events(let entries) = journal.read(after: 0) else { Issue.record("no events"); return }
            #expect(entries.map(\.name) == ["joined", "changed", "expired"])
            #expect(journal.read(after: nil) == .reset(id: 3, live: []))
        }

        @Test func wakeUpsHoldOnePendingSignalAndUnregisterWhenDone() async {
            let journal = EventJournal()
            var (stream, continuation): (AsyncStream<Void>?, AsyncStream<Void>.Continuation) = journal.wakeUps()
            #expect(journal.readers == 1)
            for _ in 0..<100 { journal.record(.joined(Self.peer(SigningKey.generate()))) }
            var iterator = stream!.makeAsyncIterator()
            #expect(await iterator.next() != nil)  // a hundred events, one wake-up
            continuation.finish()
            #expect(await iterator.next() == nil)
            stream = nil
            #expect(journal.readers == 0)
        }
    }

    /// `GET /events` through a real server: a raw reader, as a stream has no length.
    @Suite struct EventStreamTests {
        static func makeServer(journal: EventJournal, keepAlive: Duration = .seconds(15), maxStreams: Int = 256) -> NodeHTTPServer {
            var settings = ControlAPI.Settings()
            settings.keepAliveInterval = keepAlive
            settings.maxEventStreams = maxStreams
            return ControlAPITests.makeServer(settings: settings, journal: journal)
        }

        static func open(_ server: NodeHTTPServer, lastEventID: Int? = nil) async throws -> HTTPTestConnection {
            let connection = try HTTPTestConnection(port: try await server.start())
            try connection.request("/events", headers: lastEventID.map { ["Last-Event-ID: \($0)"] } ?? [])
            return connection
        }

        @Test func eventsArriveWithIdsAfterTheViewAndResumeFromTheLastId() async throws {
            let journal = EventJournal()
            let a = SigningKey.generate(), b = SigningKey.generate()
            journal.record(.joined(EventJournalTests.peer(a)))
            let server = Self.makeServer(journal: journal)
            let stream = try await Self.open(server)
            let head = try await stream.readUntil("retry: 2000\n\n")
            #expect(head.hasPrefix("HTTP/1.1 200") && head.lowercased().contains("content-type: text/event-stream"))
            let view = try await stream.readUntil("]\n\n")
            #expect(view.contains("event: reset\nid: 1\ndata: [{\"owner\":\"\(a.publicKey.hex)\""))

            journal.record(.joined(EventJournalTests.peer(b)))
            let joined = try await stream.readUntil("}}\n\n")
            #expect(joined.contains("event: joined\nid: 2\ndata: {\"owner\":\"\(b.publicKey.hex)\""))
            #expect(joined.contains(#""state":"online""#))

            // Gone, and back with the last id it saw: only what it missed, no reset.
            journal.record(.changed(EventJournalTests.peer(b, tput: 12_500)))
            journal.record(.expired(EventJournalTests.peer(a)))
            let resumed = try await Self.open(server, lastEventID: 2)
            let missed = try await resumed.readUntil("event: expired\nid: 4")
            #expect(!missed.contains("event: reset") && missed.contains("event: changed\nid: 3"))
            #expect(missed.contains(#""tput":12500"#))
            await server.stop()
        }

        @Test func aClientThatStopsReadingHoldsNoBacklogAndDelaysNoOne() async throws {
            let journal = EventJournal(capacity: 64)
            let server = Self.makeServer(journal: journal)
            let stalled = try await Self.open(server)
            _ = try await stalled.readUntil("event: reset")  // then never reads again
            let reader = try await Self.open(server)
            _ = try await reader.readUntil("event: reset")
            // Far more events than the journal keeps: it keeps its last 64, and the reader keeps
            // up while the stalled one reads nothing. Recorded in bursts, yielding between them,
            // so the test does not hold a thread other suites' nodes need.
            let keys = (0..<8).map { _ in SigningKey.generate() }
            for round in 0..<3_000 {
                journal.record(.changed(EventJournalTests.peer(keys[round % keys.count], tput: Int64(round))))
                if round % 100 == 99 { await Task.yield() }
            }
            _ = try await reader.readUntil("id: 3000\n", within: .seconds(60))
            #expect(journal.read(after: 3_000 - 64) != .events([]))
            guard case .reset = journal.read(after: 3_000 - 65) else { Issue.record("the journal kept more than 64"); return }
            await server.stop()
        }

        @Test func anIdleStreamGetsKeepAliveComments() async throws {
            let server = Self.makeServer(journal: EventJournal(), keepAlive: .milliseconds(100))
            let stream = try await Self.open(server)
            _ = try await stream.readUntil("event: reset")
            _ = try await stream.readUntil(": keep-alive\n\n")
            _ = try await stream.readUntil(": keep-alive\n\n")
            // A graceful stop ends the stream properly (the last chunk), not by the grace
            // period's cancellation, which would only close the connection.
            await server.stop()
            _ = try await stream.readUntil("\r\n0\r\n\r\n")
        }

        @Test func streamsAreBoundedAndDroppedOnesAreForgotten() async throws {
            let journal = EventJournal()
            let server = Self.makeServer(journal: journal, maxStreams: 64)
            // Many opened and dropped at once: each goes when its connection closes, with no
            // write (the keep-alive is 15 s away) to find it gone.
            for _ in 0..<3 {
                var streams: [HTTPTestConnection] = []
                for _ in 0..<64 {
                    let stream = try await Self.open(server)
                    _ = try await stream.readUntil("event: reset")
                    streams.append(stream)
                }
                let refused = try await Self.open(server)
                let answer = try await refused.readResponse()
                #expect(answer.status == 503 && answer.body.contains("64 event streams"))
                streams.removeAll()  // closes them
                let deadline = ContinuousClock.now + .seconds(10)
                while journal.readers > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                #expect(journal.readers == 0)
            }
            // And new streams are served again.
            let stream = try await Self.open(server)
            _ = try await stream.readUntil("event: reset")
            await server.stop()
        }
    }
}
