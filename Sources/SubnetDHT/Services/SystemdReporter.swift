import Logging
import SubnetDHTCore

/// What a subnet member tells systemd when it runs as a `Type=notify` service: `READY=1` once
/// it is ONLINE (units ordered after it start then), a `STATUS=` line whenever its state, live
/// peers or routing table change, `STOPPING=1` when a graceful stop begins, and, when the unit
/// has `WatchdogSec=`, `WATCHDOG=1` at half that interval, but only while the node's event loop
/// answers within the half and, once it is ONLINE, its heartbeat is healthy (as `/health`
/// judges it): a wedged node is restarted.
struct SystemdReporter: Sendable {
    let notifier: SystemdNotifier
    /// How long a heartbeat counts; nil without heartbeats (health is then a non-empty routing table).
    let heartbeatTTL: Duration?
    /// How often the node is read for `STATUS=` when there is no watchdog to keep.
    var statusInterval: Duration = .seconds(5)
    let logger: Logger

    /// `READY=1`, with the state it is ready in.
    func ready(_ status: String) {
        send(["READY=1", "STATUS=" + status])
    }

    func stopping() {
        send(["STOPPING=1", "STATUS=stopping: publishing OFFLINE"])
    }

    /// Reads the node every tick until cancelled: `STATUS=` on a change, `WATCHDOG=1` while
    /// healthy. `state` is the member's state now (`joining`, `online`, `offline`).
    func run(node: DHTNode, state: @escaping @Sendable () -> ServerInfo.State?) async {
        let tick = notifier.watchdogTimeout.map { min($0 / 2, statusInterval) } ?? statusInterval
        var lastStatus = ""
        while (try? await Task.sleep(for: tick)) != nil {
            // The node's loop must answer within the tick; a loop that does not is wedged.
            guard let reading = await withTimeout(tick, { try? await node.status() }), let status = reading else {
                logger.warning("no WATCHDOG=1: the node's event loop did not answer", metadata: ["within": "\(tick)"])
                continue
            }
            let current = state()
            let line = Self.statusLine(state: current, status)
            if line != lastStatus {
                send(["STATUS=" + line])
                lastStatus = line
            }
            guard notifier.watchdogTimeout != nil else { continue }
            if current == .joining || isHealthy(status, state: current) {
                send(["WATCHDOG=1"])
            } else {
                logger.warning("no WATCHDOG=1: the heartbeat is not healthy", metadata: ["status": "\(line)"])
            }
        }
    }

    /// As `/health` judges it.
    private func isHealthy(_ status: NodeStatus, state: ServerInfo.State?) -> Bool {
        HealthReport(state: state?.label ?? "stopped", lastHeartbeat: status.lastHeartbeat, routingTableSize: status.routingTableSize,
                     livePeers: status.livePeers, heartbeatTTLSeconds: heartbeatTTL.map { Int($0.components.seconds) })
            .isHealthy(now: SystemClock.now())
    }

    /// `online: 4 live peers, 12 in the routing table`.
    static func statusLine(state: ServerInfo.State?, _ status: NodeStatus) -> String {
        "\(state?.label ?? "stopped"): \(status.livePeers) live peers, \(status.routingTableSize) in the routing table"
    }

    private func send(_ fields: [String]) {
        do {
            try notifier.notify(fields)
        } catch {
            logger.warning("could not notify the service manager", metadata: ["error": "\(error)"])
        }
    }
}
