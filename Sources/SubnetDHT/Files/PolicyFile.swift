#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A subnet's validator rules read from a JSON file (`run --policy FILE`, docs/POLICY.md):
/// per key, who may write, which roles and subnet fields a heartbeat must have, and the
/// bounds on TTL, owners, stores and value size; and whether keys without rules are open.
///
///     {"keys": {"node": {"roles": ["validator", "miner"],
///                        "info": {"stake": {"type": "number", "min": 0}},
///                        "writers_file": "writers.txt", "max_ttl": 300}},
///      "open_keys": false}
///
/// Every mistake stops the load with the file, the line and the field: a node must not run
/// with rules other than the ones its subnet wrote.
public struct PolicyFile: Sendable {
    /// The policies to enforce, `node` among them (its defaults when the file names no `node`).
    public var policies: KeyPolicies
    /// The writers files named, by key, resolved against the policy file's directory.
    public var writersFiles: [String: String]

    /// Reads and checks the file at `path`; a `writers_file` is read relative to its directory.
    public static func load(path: String) throws(PolicyFileError) -> PolicyFile {
        let text = try read(path)
        return try parse(text, path: path) { writers throws(PolicyFileError) in try read(writers) }
    }

    /// Checks `text`, the contents of `path`; `readWriters` reads a writers file by its resolved path.
    public static func parse(_ text: [UInt8], path: String,
                             readWriters: (String) throws(PolicyFileError) -> [UInt8]) throws(PolicyFileError) -> PolicyFile {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: text)
        } catch {
            throw PolicyFileError(path: path, line: nil, field: nil, reason: error.description)
        }
        let reader = PolicyReader(path: path, text: text)
        let top = try reader.object(document, at: [])
        try reader.onlyKnown(top, ["keys", "open_keys"], at: [])
        var policies = KeyPolicies()
        var writersFiles = [String: String]()
        if let open = top["open_keys"] { policies.openKeys = try reader.bool(open, at: ["open_keys"]) }
        guard let keys = top["keys"] else { throw reader.error(at: ["keys"], "is required: an object of rules by key") }
        for (key, rules) in try reader.object(keys, at: ["keys"]).sorted(by: { $0.key < $1.key }) {
            guard (1...KeyedRecord.maxKeyLength).contains(key.utf8.count) else {
                throw reader.error(at: ["keys", key], "a key is 1 to 64 bytes")
            }
            let keyRules = try KeyRules(rules, key: key, reader: reader)
            var writers = keyRules.writers
            if let file = keyRules.writersFile {
                let resolved = Self.resolve(file, against: path)
                writers = (writers ?? []).union(try WritersFile.parse(try readWriters(resolved), path: resolved))
                writersFiles[key] = resolved
            }
            var policy = keyRules.policy(key: key)
            policy.allowedWriters = writers
            policies.register(policy, for: key)
        }
        return PolicyFile(policies: policies, writersFiles: writersFiles)
    }

    static func resolve(_ file: String, against policyPath: String) -> String {
        guard !file.hasPrefix("/"), let slash = policyPath.lastIndex(of: "/") else { return file }
        return String(policyPath[...slash]) + file
    }

    private static func read(_ file: String) throws(PolicyFileError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        } catch {
            throw PolicyFileError(path: file, line: nil, field: nil, reason: "cannot be read (\(error.localizedDescription))")
        }
    }
}

/// Why a policy file (or a writers file it names) cannot be used: where, and what is wrong.
public struct PolicyFileError: Error, Hashable, Sendable, CustomStringConvertible {
    public let path: String
    /// The line the field is first named on, when known.
    public let line: Int?
    /// The field's path, such as `keys.node.max_ttl`.
    public let field: String?
    public let reason: String

    public var description: String {
        var text = path
        if let line { text += " line \(line)" }
        if let field { text += ": \(field)" }
        return text + ": " + reason
    }
}

/// One hex public key a line; blank lines and `#` comments are skipped.
public enum WritersFile {
    public static func parse(_ text: [UInt8], path: String) throws(PolicyFileError) -> Set<PublicKey> {
        var writers = Set<PublicKey>()
        for (number, raw) in String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let word = line.trimmingCharacters(in: .whitespaces)
            guard !word.isEmpty else { continue }
            guard let key = PublicKey(hex: String(word)) else {
                throw PolicyFileError(path: path, line: number + 1, field: nil, reason: "not a public key (64 hex digits): \(word.prefix(80))")
            }
            writers.insert(key)
        }
        return writers
    }
}

/// The rules of one key, as the file states them.
private struct KeyRules {
    static let fields = ["roles", "info", "writers", "writers_file", "max_ttl", "max_owners", "stores_per_owner_per_minute",
                         "max_value_bytes"]

    var roles: Set<String>?
    var info: [String: InfoFieldRule]?
    var writers: Set<PublicKey>?
    var writersFile: String?
    var maxTTL: Duration?
    var maxOwners: Int?
    var storesPerMinute: Int?
    var maxValueBytes: Int?

    init(_ value: JSONValue, key: String, reader: PolicyReader) throws(PolicyFileError) {
        let at = ["keys", key]
        let rules = try reader.object(value, at: at)
        try reader.onlyKnown(rules, Self.fields, at: at)
        if let roles = rules["roles"] {
            let list = try reader.strings(roles, at: at + ["roles"])
            guard !list.isEmpty else { throw reader.error(at: at + ["roles"], "lists no role: no heartbeat could be stored") }
            for role in list where role.utf8.count > ServerInfo.maxRoleLength || role.isEmpty {
                throw reader.error(at: at + ["roles"], "role \"\(role)\" is not 1 to \(ServerInfo.maxRoleLength) bytes")
            }
            self.roles = Set(list)
        }
        if let info = rules["info"] {
            var parsed = [String: InfoFieldRule]()
            for (name, rule) in try reader.object(info, at: at + ["info"]) {
                parsed[name] = try Self.infoRule(rule, at: at + ["info", name], reader: reader)
            }
            self.info = parsed
        }
        if let writers = rules["writers"] {
            var keys = Set<PublicKey>()
            for hex in try reader.strings(writers, at: at + ["writers"]) {
                guard let key = PublicKey(hex: hex) else { throw reader.error(at: at + ["writers"], "\"\(hex.prefix(80))\" is not a public key (64 hex digits)") }
                keys.insert(key)
            }
            self.writers = keys
        }
        if let file = rules["writers_file"] { writersFile = try reader.string(file, at: at + ["writers_file"]) }
        if let ttl = rules["max_ttl"] {
            let seconds = try reader.number(ttl, at: at + ["max_ttl"], in: 1...86_400, unit: "seconds")
            maxTTL = .milliseconds(Int64(seconds * 1000))
        }
        if let owners = rules["max_owners"] { maxOwners = try reader.integer(owners, at: at + ["max_owners"], in: 1...10_000_000) }
        if let stores = rules["stores_per_owner_per_minute"] {
            storesPerMinute = try reader.integer(stores, at: at + ["stores_per_owner_per_minute"], in: 1...100_000)
        }
        if let bytes = rules["max_value_bytes"] {
            maxValueBytes = try reader.integer(bytes, at: at + ["max_value_bytes"], in: 1...StorageSettings().maxValueSize)
        }
    }

    /// `node`, and any key given roles or info rules, holds heartbeats (ServerInfo values).
    func policy(key: String) -> KeyPolicy {
        let heartbeats = key == "node" || roles != nil || info != nil
        let defaults = heartbeats ? KeyPolicy.node() : KeyPolicy.openKey
        var policy = heartbeats
            ? KeyPolicy.node(roles: roles ?? ServerInfo.defaultRoles, maxOwners: maxOwners ?? defaults.maxOwners,
                             storesPerOwnerPerMinute: storesPerMinute ?? defaults.storesPerOwnerPerMinute,
                             maxTTL: maxTTL ?? defaults.maxTTL, infoRules: info ?? [:])
            : KeyPolicy(maxTTL: maxTTL ?? defaults.maxTTL, maxOwners: maxOwners ?? defaults.maxOwners,
                        storesPerOwnerPerMinute: storesPerMinute ?? defaults.storesPerOwnerPerMinute)
        if let maxValueBytes {
            let check = policy.valueCheck
            policy.valueCheck = { value in
                let size = Bencode.encode(value).count
                return size > maxValueBytes ? "value is \(size) bytes, over this key's \(maxValueBytes)" : check(value)
            }
        }
        return policy
    }

    private static func infoRule(_ value: JSONValue, at path: [String], reader: PolicyReader) throws(PolicyFileError) -> InfoFieldRule {
        let fields = try reader.object(value, at: path)
        try reader.onlyKnown(fields, ["type", "min", "max", "max_length", "values", "required"], at: path)
        guard let typeValue = fields["type"] else {
            throw reader.error(at: path + ["type"], "is required: one of \(InfoFieldRule.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let name = try reader.string(typeValue, at: path + ["type"])
        guard let kind = InfoFieldRule.Kind(rawValue: name) else {
            throw reader.error(at: path + ["type"], "\"\(name)\" is not one of \(InfoFieldRule.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var rule = InfoFieldRule(kind: kind)
        let numeric = kind == .number || kind == .integer
        for bound in ["min", "max"] {
            guard let raw = fields[bound] else { continue }
            guard numeric else { throw reader.error(at: path + [bound], "applies to a number or integer, not a \(kind.rawValue)") }
            let number = try reader.number(raw, at: path + [bound], in: -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude, unit: "")
            if bound == "min" { rule.min = number } else { rule.max = number }
        }
        if let min = rule.min, let max = rule.max, min > max { throw reader.error(at: path + ["min"], "is above max: no value could pass") }
        if let length = fields["max_length"] {
            guard kind == .string else { throw reader.error(at: path + ["max_length"], "applies to a string, not a \(kind.rawValue)") }
            rule.maxLength = try reader.integer(length, at: path + ["max_length"], in: 1...StorageSettings().maxValueSize)
        }
        if let values = fields["values"] {
            guard case .array(let list) = values, !list.isEmpty else { throw reader.error(at: path + ["values"], "must be a non-empty array") }
            for allowed in list where rule.refusal(of: allowed, field: path.last ?? "") != nil || allowed == .null {
                throw reader.error(at: path + ["values"], "\(allowed.jsonText) does not itself pass the rule")
            }
            rule.allowed = list
        }
        if let required = fields["required"] { rule.required = try reader.bool(required, at: path + ["required"]) }
        return rule
    }
}

/// Reads typed values out of the parsed file, and says where a wrong one is.
private struct PolicyReader {
    let path: String
    let text: [UInt8]

    func error(at field: [String], _ reason: String) -> PolicyFileError {
        PolicyFileError(path: path, line: line(of: field), field: field.joined(separator: "."), reason: reason)
    }

    func object(_ value: JSONValue, at field: [String]) throws(PolicyFileError) -> [String: JSONValue] {
        guard case .object(let fields) = value else { throw error(at: field, "must be an object, not \(value.typeName)") }
        return fields
    }

    func onlyKnown(_ fields: [String: JSONValue], _ known: [String], at field: [String]) throws(PolicyFileError) {
        for name in fields.keys.sorted() where !known.contains(name) {
            throw error(at: field + [name], "is not a known field (known: \(known.joined(separator: ", ")))")
        }
    }

    func bool(_ value: JSONValue, at field: [String]) throws(PolicyFileError) -> Bool {
        guard case .bool(let flag) = value else { throw error(at: field, "must be true or false, not \(value.typeName)") }
        return flag
    }

    func string(_ value: JSONValue, at field: [String]) throws(PolicyFileError) -> String {
        guard case .string(let text) = value else { throw error(at: field, "must be a string, not \(value.typeName)") }
        return text
    }

    func strings(_ value: JSONValue, at field: [String]) throws(PolicyFileError) -> [String] {
        guard case .array(let list) = value else { throw error(at: field, "must be an array of strings, not \(value.typeName)") }
        var strings = [String]()
        for item in list {
            guard case .string(let text) = item else { throw error(at: field, "must be an array of strings, not of \(item.typeName)") }
            strings.append(text)
        }
        return strings
    }

    func number(_ value: JSONValue, at field: [String], in range: ClosedRange<Double>, unit: String) throws(PolicyFileError) -> Double {
        guard let number = value.numberValue else { throw error(at: field, "must be a number, not \(value.typeName)") }
        guard range.contains(number) else {
            throw error(at: field, "must be \(JSONValue.text(of: range.lowerBound)) to \(JSONValue.text(of: range.upperBound))\(unit.isEmpty ? "" : " " + unit)")
        }
        return number
    }

    func integer(_ value: JSONValue, at field: [String], in range: ClosedRange<Int>) throws(PolicyFileError) -> Int {
        guard case .integer(let number) = value else { throw error(at: field, "must be an integer, not \(value.typeName)") }
        guard number >= Int64(range.lowerBound), number <= Int64(range.upperBound) else {
            throw error(at: field, "must be \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(number)
    }

    /// The line where the field's last name first appears in quotes after its parents' names:
    /// the file is parsed as a whole, so this finds it again in the text.
    private func line(of field: [String]) -> Int? {
        var offset = 0
        for name in field {
            let needle = Array("\"\(name)\"".utf8)
            guard let found = Self.find(needle, in: text, from: offset) else { return nil }
            offset = found
        }
        return text[..<offset].count { $0 == UInt8(ascii: "\n") } + 1
    }

    private static func find(_ needle: [UInt8], in text: [UInt8], from start: Int) -> Int? {
        guard needle.count <= text.count else { return nil }
        var index = start
        while index + needle.count <= text.count {
            if text[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
