import NIOConcurrencyHelpers
import SubnetDHTCore

/// Keeps what a node's status page shows: reads the node's live view every refresh interval
/// into a `SubnetStatusBoard` behind a lock. Page requests read the board, never the node, so
/// however many browsers poll, the DHT's event loop sees one short read a second.
///
///     let recorder = SubnetStatusRecorder(key: "node", owner: node.publicKey, info: { currentInfo })
///     let recording = Task { await recorder.run(reading: node) }   // cancel it before the node shuts down
///     let page = StatusPage(recorder: recorder, node: node)
public final class SubnetStatusRecorder: Sendable {
    public struct Settings: Sendable {
        /// Time between reads of the node's view: the view itself changes once a prune
        /// interval, so a second adds at most a second to what the page shows.
        public var refreshInterval: Duration = .seconds(1)
        /// A departed peer stays on the page this long.
        public var departureRetention: Duration = .seconds(3600)
        /// At most this many departed peers are listed, the oldest dropped first.
        public var maxDepartures = 100
        /// One chart sample per interval over the window: 120 samples for the last hour.
        public var historyInterval: Duration = .seconds(30)
        public var historyWindow: Duration = .seconds(3600)

        public init() {}

        var board: SubnetStatusBoard.Settings {
            SubnetStatusBoard.Settings(departureRetention: departureRetention, maxDepartures: maxDepartures,
                                       historyInterval: historyInterval, historyWindow: historyWindow)
        }
    }

    /// The heartbeat key the node's view follows.
    public let key: String
    /// The node's own public key.
    public let owner: PublicKey
    public let settings: Settings
    private let info: @Sendable () -> ServerInfo?
    private let board: NIOLockedValueBox<SubnetStatusBoard>

    /// A recorder with an empty board; ``run(reading:clock:)`` fills it.
    ///
    /// - Parameters:
    ///   - key: The heartbeat key the node's view follows, usually `node`.
    ///   - owner: The node's own public key, which the page's header names.
    ///   - settings: Refresh interval, how long departures stay and the chart's history.
    ///   - info: The node's own heartbeat as last published, for the page's header.
    public init(key: String, owner: PublicKey, settings: Settings = Settings(),
                info: @escaping @Sendable () -> ServerInfo? = { nil }) {
        self.key = key
        self.owner = owner
        self.settings = settings
        self.info = info
        board = NIOLockedValueBox(SubnetStatusBoard(settings: settings.board))
    }

    /// Reads `node` every refresh interval until the task is cancelled. A failed read is
    /// skipped; the page shows when the view was last read.
    public func run(reading node: DHTNode, clock: @escaping @Sendable () -> Timestamp = { SystemClock.now() }) async {
        while !Task.isCancelled {
            if let reading = try? await SubnetReading.read(from: node) { record(reading, now: clock()) }
            try? await Task.sleep(for: settings.refreshInterval)
        }
    }

    func record(_ reading: SubnetReading, now: Timestamp) {
        board.withLockedValue { $0.apply(reading, now: now) }
    }

    func status(now: Timestamp) -> SubnetStatus {
        // A copy (copy-on-write, so cheap) taken under the lock; the page is built outside it.
        let board = board.withLockedValue { $0 }
        return board.status(now: now, key: key, owner: owner, info: info())
    }
}
