import ArgumentParser
import SubnetDHT
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `--info KEY=VALUE` and `--info-file FILE`: the subnet's own fields in the heartbeat's
/// `info` (docs/PROTOCOL.md 4).
struct HeartbeatInfoOptions: ParsableArguments {
    @Option(name: .customLong("info"),
            help: ArgumentHelp("A subnet field published in the heartbeat's info; VALUE is read as JSON when it parses, as a string otherwise, and null drops the field (repeatable).",
                               valueName: "key=value"))
    var pairs: [String] = []
    @Option(help: "A JSON object of subnet fields for the heartbeat's info; --info overrides its keys.")
    var infoFile: String?

    /// The fields: the file's, then each `--info` in order.
    func fields() throws -> [String: JSONValue] {
        var fields = [String: JSONValue]()
        if let infoFile { fields = try Self.object(inFile: infoFile) }
        for pair in pairs {
            let (key, value) = try Self.field(pair)
            fields[key] = value == .null ? nil : value
        }
        return fields
    }

    /// One `--info KEY=VALUE`: VALUE as JSON when it parses, as a string otherwise.
    static func field(_ pair: String) throws -> (key: String, value: JSONValue) {
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
            throw ValidationError("--info must be KEY=VALUE, got '\(pair)'")
        }
        let text = String(pair[pair.index(after: equals)...])
        return (String(pair[..<equals]), (try? JSONValue(parsing: Array(text.utf8))) ?? .string(text))
    }

    /// Fails when the heartbeat with these fields would not fit a record's value: replicas
    /// would refuse every heartbeat (205), so the node must not start with them.
    func checkSize(role: String, name: String?) throws {
        let fields = try fields()
        guard !fields.isEmpty else { return }
        let heartbeat = ServerInfo(state: .offline, role: role, throughput: 0, address: Endpoint(address: .v4(0), port: 0),
                                   name: name, info: fields)
        let size = heartbeat.largestValueSize, limit = StorageSettings().maxValueSize
        guard size <= limit else {
            throw ValidationError("the heartbeat with this info is up to \(size) bytes, over the \(limit)-byte limit of a record's value: drop or shorten fields")
        }
    }

    private static func object(inFile path: String) throws -> [String: JSONValue] {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ValidationError("--info-file \(path): cannot be read (\(error.localizedDescription))")
        }
        return try jsonObject(Array(bytes), from: "--info-file \(path)").filter { $0.value != .null }
    }
}

/// The fields of `bytes`, which must hold one JSON object; errors begin with `source` (the
/// flag and file they came from).
func jsonObject(_ bytes: [UInt8], from source: String) throws -> [String: JSONValue] {
    let value: JSONValue
    do {
        value = try JSONValue(parsing: bytes)
    } catch {
        throw ValidationError("\(source): \(error)")
    }
    guard case .object(let fields) = value else { throw ValidationError("\(source): a JSON object is needed, not \(value.typeName)") }
    return fields
}
