import ArgumentParser
import Dispatch
import Logging
import ServiceLifecycle
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

/// Heartbeat, pruning and logging options shared by `run` and `testnet`.
struct SubnetOptions: ParsableArguments {
    @Option(help: "Seconds between heartbeats.") var heartbeatInterval: Double = 30
    @Option(help: "Seconds a heartbeat counts (must exceed the interval).") var heartbeatTtl: Double = 90
    @Option(help: "Seconds between prunes of expired records and dead peers, and reads of the live view. (default: 10, or half of TTL - interval when that is shorter)")
    var pruneInterval: Double?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @Flag(help: "Log JSON lines instead of text.") var jsonLogs = false

    func heartbeatSettings(key: String) throws -> HeartbeatSettings {
        let settings = HeartbeatSettings(key: key, interval: .milliseconds(Int64(heartbeatInterval * 1000)),
                                         ttl: .milliseconds(Int64(heartbeatTtl * 1000)),
                                         pruneInterval: pruneInterval.map { .milliseconds(Int64($0 * 1000)) })
        do {
            try settings.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return settings
    }

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        _ = try heartbeatSettings(key: "node")
    }

    func bootstrapLogging() {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let json = jsonLogs
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
