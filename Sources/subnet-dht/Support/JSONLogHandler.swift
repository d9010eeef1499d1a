import ArgumentParser
import Dispatch
import Logging
import ServiceLifecycle
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

/// One JSON object per log line on stderr, for log collectors.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        Console.err(line(for: event))
    }

    /// The JSON object of one event, on one line.
    func line(for event: LogEvent) -> String {
        var fields = ["\"time\":\(SystemClock.now().milliseconds)", "\"level\":\"\(event.level)\"",
                      "\"label\":\(JSONText.quoted(label))", "\"message\":\(JSONText.quoted(event.message.description))"]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields.append("\(JSONText.quoted(key)):\(JSONText.quoted(value.description))")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }
}
