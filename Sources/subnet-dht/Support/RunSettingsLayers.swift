import ArgumentParser
import Configuration
import SubnetDHT
import SystemPackage
import Yams
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `run`'s settings in layers: its defaults, a config file (`--config FILE`, JSON or YAML by
/// extension, keys named as the long flags), the environment (`SUBNET_DHT_<OPTION>`, e.g.
/// `SUBNET_DHT_HEARTBEAT_INTERVAL`), and the command line. Each layer replaces those below it
/// option by option; a repeatable option (`bootstrap`, `info`) is replaced as a whole.
/// swift-configuration reads the file and the environment; `run` itself (swift-argument-parser)
/// still checks every value, so a setting is checked the same wherever it comes from.
struct RunSettingsLayers {
    enum Source: String, Sendable {
        case `default`, file, environment, flag
    }

    /// One setting of one layer.
    enum Value: Equatable, Sendable {
        case flag(Bool)
        case single(String)
        case list([String])
    }

    /// A `run` option, as its help describes it.
    struct Option: Sendable {
        /// The preferred long name: the key in a file and, upper-cased, in the environment.
        let key: String
        /// Every long name (`http-port` and its older `metrics-port`).
        let names: [String]
        let isFlag: Bool
        let isRepeating: Bool
        let defaultValue: String?

        /// `SUBNET_DHT_HEARTBEAT_INTERVAL` for `heartbeat-interval`.
        var environmentName: String { "SUBNET_DHT_" + key.uppercased().replacing("-", with: "_") }
    }

    /// Options a layer cannot set: they are about the command line itself.
    static let commandLineOnly: Set<String> = ["config", "help", "version"]

    /// `run`'s options, from its own help: one list, so a new flag is a new key at once.
    static let options: [Option] = {
        guard case .object(let root)? = try? JSONValue(parsing: Array(Run._dumpHelp().utf8)),
              case .object(let command)? = root["command"], case .array(let arguments)? = command["arguments"] else { return [] }
        return arguments.compactMap { argument -> Option? in
            guard case .object(let fields) = argument, case .array(let names)? = fields["names"] else { return nil }
            let long = names.compactMap { name -> String? in
                guard case .object(let parts) = name, parts["kind"] == .string("long"), case .string(let text)? = parts["name"] else { return nil }
                return text
            }
            guard let key = long.first, !commandLineOnly.contains(key) else { return nil }
            let defaultValue: String? = if case .string(let text)? = fields["defaultValue"] { text } else { nil }
            return Option(key: key, names: long, isFlag: fields["kind"] == .string("flag"),
                          isRepeating: fields["isRepeating"] == .bool(true), defaultValue: defaultValue)
        }
    }()

    /// What the layers set, by key, and where each came from; nothing for a default.
    private(set) var settings: [String: (value: Value, source: Source)] = [:]
    /// The command line's own arguments, last: flags beat every layer.
    private(set) var commandLine: [String] = []

    /// The layers for `run`'s `arguments` (without `run`): the file `--config` names (or
    /// `SUBNET_DHT_CONFIG`), then `environment`, then `arguments`.
    static func resolve(arguments: [String], environment: [String: String]) async throws -> RunSettingsLayers {
        var layers = RunSettingsLayers()
        var rest: [String] = []
        var file = environment["SUBNET_DHT_CONFIG"]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--config", index + 1 < arguments.count {
                file = arguments[index + 1]
                index += 2
                continue
            }
            if argument.hasPrefix("--config=") {
                file = String(argument.dropFirst("--config=".count))
            } else {
                rest.append(argument)
            }
            index += 1
        }
        if let file {
            for (key, value) in try await read(file: file) { layers.settings[key] = (value, .file) }
        }
        layers.configFile = file
        for (key, value) in try read(environment: environment) { layers.settings[key] = (value, .environment) }
        layers.commandLine = rest
        for option in options where option.names.contains(where: { name in rest.contains { $0 == "--" + name || $0.hasPrefix("--" + name + "=") } }) {
            layers.settings[option.key] = nil
            layers.flagged.insert(option.key)
        }
        return layers
    }

    /// Keys the command line set.
    private(set) var flagged: Set<String> = []
    /// The file the settings came from, if any.
    private(set) var configFile: String?

    /// `run`'s arguments from every layer: the layers' settings, then the command line's.
    var arguments: [String] {
        var arguments: [String] = []
        for option in Self.options {
            guard let (value, _) = settings[option.key] else { continue }
            switch value {
            case .flag(let on): if on { arguments.append("--" + option.key) }
            // `--key=value`: a value that starts with `-` is not read as another flag.
            case .single(let text): arguments.append("--\(option.key)=\(text)")
            case .list(let items): arguments += items.map { "--\(option.key)=\($0)" }
            }
        }
        return arguments + commandLine
    }

    /// The arguments of the layers up to `source` (file; file and environment; all).
    private func arguments(upTo source: Source) -> [String] {
        var layers = self
        let kept: Set<Source> = switch source {
        case .default: []
        case .file: [.file]
        case .environment: [.file, .environment]
        case .flag: [.file, .environment, .flag]
        }
        layers.settings = settings.filter { kept.contains($0.value.source) }
        if source != .flag { layers.commandLine = [] }
        return layers.arguments
    }

    /// `run` parsed from every layer. When that fails, the error names the first layer it
    /// fails with: the file, the environment or the command line.
    func parse() throws -> any ParsableCommand {
        func parsed(_ arguments: [String]) throws -> any ParsableCommand {
            try SubnetDHTCommand.parseAsRoot(["run"] + arguments)
        }
        do {
            return try parsed(arguments)
        } catch {
            let message = SubnetDHTCommand.message(for: error)
            if let configFile, (try? parsed(arguments(upTo: .file))) == nil {
                throw ValidationError("--config \(configFile): \(message)")
            }
            if (try? parsed(arguments(upTo: .environment))) == nil {
                throw ValidationError("the SUBNET_DHT_ environment: \(message)")
            }
            throw error
        }
    }

    /// What the layers set `key` to; nil for its default.
    func value(of key: String) -> Value? {
        settings[key]?.value
    }

    /// Where `key`'s value comes from.
    func source(of key: String) -> Source {
        flagged.contains(key) ? .flag : settings[key]?.source ?? .default
    }

    // MARK: - The file

    /// The settings in `path`: a JSON (`.json`) or YAML (`.yaml`, `.yml`) mapping of long flag
    /// names to values.
    static func read(file path: String) async throws -> [String: Value] {
        let isJSON: Bool
        let name = path.split(separator: "/").last ?? ""
        switch name.contains(".") ? String(name.split(separator: ".").last ?? "").lowercased() : "" {
        case "json": isJSON = true
        case "yaml", "yml": isJSON = false
        default: throw ValidationError("--config \(path): the file must end in .json, .yaml or .yml")
        }
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ValidationError("--config \(path): cannot be read (\(error.localizedDescription))")
        }
        let keys = try topLevelKeys(bytes, isJSON: isJSON, path: path)
        let known = Dictionary(uniqueKeysWithValues: options.map { ($0.key, $0) })
        if let unknown = keys.first(where: { known[$0] == nil }) {
            let hint = commandLineOnly.contains(unknown) ? "it is given on the command line only" : "the keys are run's long flags (subnet-dht run --help)"
            throw ValidationError("--config \(path): unknown key \(unknown): \(hint)")
        }
        guard !keys.isEmpty else { return [:] }  // an empty file sets nothing
        let reader: ConfigReader
        do {
            reader = isJSON
                ? ConfigReader(provider: try await FileProvider<JSONSnapshot>(filePath: FilePath(path)))
                : ConfigReader(provider: try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)))
        } catch {
            throw ValidationError("--config \(path): \(error)")
        }
        var values: [String: Value] = [:]
        for key in keys {
            guard let option = known[key] else { continue }
            guard let value = value(of: option, in: reader) else {
                throw ValidationError("--config \(path): \(key) must be \(expected(option)), not what the file has")
            }
            values[key] = value
        }
        return values
    }

    /// The top-level keys of a file, in order; the file must be one mapping.
    private static func topLevelKeys(_ bytes: [UInt8], isJSON: Bool, path: String) throws -> [String] {
        if isJSON { return try jsonObject(bytes, from: "--config \(path)").keys.sorted() }
        let node: Node?
        do {
            node = try Yams.compose(yaml: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw ValidationError("--config \(path): not YAML: \(error)")
        }
        guard let node else { return [] }  // an empty file sets nothing
        guard let mapping = node.mapping else { throw ValidationError("--config \(path): the file must be one YAML mapping of keys to values") }
        return mapping.keys.map { $0.string ?? "\($0)" }
    }

    // MARK: - The environment

    /// The `SUBNET_DHT_<OPTION>` variables that are set.
    static func read(environment: [String: String]) throws -> [String: Value] {
        let reader = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment)).scoped(to: "subnet-dht")
        var values: [String: Value] = [:]
        for option in options where environment[option.environmentName] != nil {
            guard let value = value(of: option, in: reader) else {
                throw ValidationError("\(option.environmentName) must be \(expected(option)), not \(JSONText.quoted(environment[option.environmentName] ?? ""))")
            }
            values[option.key] = value
        }
        return values
    }

    // MARK: - Values

    /// `option`'s value as `reader` has it, or nil when it has another type.
    private static func value(of option: Option, in reader: ConfigReader) -> Value? {
        let key = ConfigKey(option.key)
        if option.isFlag { return (try? reader.requiredBool(forKey: key)).map(Value.flag) }
        if option.isRepeating {
            if let items = try? reader.requiredStringArray(forKey: key) { return .list(items) }
            return scalar(key, in: reader).map { .list([$0]) }
        }
        return scalar(key, in: reader).map(Value.single)
    }

    /// A string or a number, as text.
    private static func scalar(_ key: ConfigKey, in reader: ConfigReader) -> String? {
        if let text = try? reader.requiredString(forKey: key) { return text }
        if let number = try? reader.requiredInt(forKey: key) { return String(number) }
        if let number = try? reader.requiredDouble(forKey: key) { return JSONValue.text(of: number) }
        return nil
    }

    private static func expected(_ option: Option) -> String {
        option.isFlag ? "true or false" : option.isRepeating ? "a list of strings" : "a string or a number"
    }
}
