import ArgumentParser
import SubnetDHT

/// `subnet-dht config check FILE`.
struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with run's config files.",
        subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a config file for run and print every setting with where it comes from.",
            discussion: """
                Sources, lowest first: default, file, environment (SUBNET_DHT_<OPTION>), flag. The file is checked as \
                run checks it: an unknown key, a wrong type or a value run refuses exits 64 with the file, the key \
                and the reason.
                """)

        @Argument(help: "The config file, JSON or YAML by its extension.") var file: String

        func run() async throws {
            let layers = try await RunSettingsLayers.resolve(arguments: ["--config", file], environment: SystemdNotifier.processEnvironment)
            _ = try layers.parse()
            Console.out(Self.table(layers))
        }

        /// One line a setting: key, value, source; the values as run reads them.
        static func table(_ layers: RunSettingsLayers) -> String {
            let rows = RunSettingsLayers.options.map { option -> [String] in
                let source = layers.source(of: option.key)
                let value: String = switch layers.value(of: option.key) {
                case .flag(let on)?: on ? "true" : "false"
                case .single(let text)?: text
                case .list(let items)?: "[" + items.joined(separator: ", ") + "]"
                case nil: option.isFlag ? "false" : option.defaultValue ?? (option.isRepeating ? "[]" : "-")
                }
                return [option.key, value, source.rawValue]
            }
            let widths = (0..<2).map { column in rows.map { $0[column].count }.max() ?? 0 }
            func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: width + 2 - text.count) }
            return rows.map { padded($0[0], widths[0]) + padded($0[1], widths[1]) + $0[2] }.joined(separator: "\n")
        }
    }
}
