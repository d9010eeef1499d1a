/// What a key's policy requires of one of the subnet's own fields in a heartbeat's `info`
/// (docs/PROTOCOL.md 4): its JSON type, a range for numbers, a length for strings, the values
/// allowed, and whether it must be there.
public struct InfoFieldRule: Hashable, Sendable {
    /// The JSON types a rule names.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case number, integer, string, boolean, array, object
    }

    public var kind: Kind
    /// Bounds for a number or integer, inclusive.
    public var min: Double?
    public var max: Double?
    /// Longest string, in UTF-8 bytes.
    public var maxLength: Int?
    /// The only values allowed, when set.
    public var allowed: [JSONValue]?
    /// A heartbeat without the field is refused; an optional field is checked only when present.
    public var required: Bool

    public init(kind: Kind, min: Double? = nil, max: Double? = nil, maxLength: Int? = nil, allowed: [JSONValue]? = nil, required: Bool = true) {
        self.kind = kind
        self.min = min
        self.max = max
        self.maxLength = maxLength
        self.allowed = allowed
        self.required = required
    }

    /// Why `value` of field `name` breaks the rule, or nil.
    public func refusal(of value: JSONValue?, field name: String) -> String? {
        guard let value, value != .null else { return required ? "info.\(name) is required" : nil }
        guard matches(value) else { return "info.\(name) must be \(Self.article(kind)) \(kind.rawValue), not \(value.typeName)" }
        if let number = value.numberValue {
            if let min, number < min { return "info.\(name) must be at least \(JSONValue.text(of: min))" }
            if let max, number > max { return "info.\(name) must be at most \(JSONValue.text(of: max))" }
        }
        if case .string(let text) = value, let maxLength, text.utf8.count > maxLength {
            return "info.\(name) must be at most \(maxLength) bytes"
        }
        if let allowed, !allowed.contains(where: { Self.equal($0, value) }) {
            return "info.\(name) must be one of \(allowed.map(\.jsonText).joined(separator: ", "))"
        }
        return nil
    }

    private func matches(_ value: JSONValue) -> Bool {
        switch (kind, value) {
        case (.number, .integer), (.number, .number), (.integer, .integer), (.string, .string), (.boolean, .bool),
             (.array, .array), (.object, .object): true
        case (.integer, .number(let number)): number.rounded() == number
        default: false
        }
    }

    /// Numbers compare by value, `5` equal to `5.0`.
    private static func equal(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        if let left = lhs.numberValue, let right = rhs.numberValue { return left == right }
        return lhs == rhs
    }

    private static func article(_ kind: Kind) -> String { kind == .integer || kind == .array || kind == .object ? "an" : "a" }
}
