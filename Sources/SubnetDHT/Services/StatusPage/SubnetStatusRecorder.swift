import NIOConcurrencyHelpers
import SubnetDHTCore

/// Keeps what a node's status page shows in a `SubnetStatusBoard` behind a lock: the node's
/// membership events as they come, over a reading of its live view taken when following
/// starts, and a reading every refresh interval for what changes without an event (counters,
/// renewed heartbeats). Page requests read the board, never the node.
///
///     let recorder = SubnetStatusRecorder(key: "node", owner: node.publicKey, info: { currentInfo })
///     let following = Task { await recorder.run(following: node) }   // cancel it before the node shuts down
///     let page = StatusPage(recorder: recorder, node: node)
///
/// ``SubnetPeer`` feeds its recorder from the same follower that keeps `/health` and
/// `/metrics` current, so the node is read once per interval for all three.
public final class SubnetStatusRecorder: Sendable {
    public struct Settings: Sendable {
        /// Time between readings of the node: membership changes arrive as events at once;
        /// these refresh the counters and the heartbeat ages of live peers.
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

    /// A recorder with an empty board; ``run(following:clock:)`` fills it.
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

    /// Follows `node` until the task is cancelled: its membership events as they come, and a
    /// reading every refresh interval. A failed reading is skipped; the page shows when the
    /// node last told it something.
    public func run(following node: DHTNode, clock: @escaping @Sendable () -> Timestamp = { SystemClock.now() }) async {
        await NodeStatusFeed(node: node, recorder: self, refreshInterval: settings.refreshInterval, clock: clock).run()
    }

    /// The first reading: the live view as it is when following starts.
    func begin(with reading: SubnetReading, now: Timestamp) {
        board.withLockedValue { $0.begin(with: reading, now: now) }
    }

    func record(_ event: MembershipEvent, now: Timestamp) {
        board.withLockedValue { $0.apply(event, now: now) }
    }

    func refresh(with reading: SubnetReading, now: Timestamp) {
        board.withLockedValue { $0.refresh(with: reading, now: now) }
    }

    func status(now: Timestamp) -> SubnetStatus {
        // A copy (copy-on-write, so cheap) taken under the lock; the page is built outside it.
        let board = board.withLockedValue { $0 }
        return board.status(now: now, key: key, owner: owner, info: info())
    }
}
