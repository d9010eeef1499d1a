#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON value: what a subnet puts in its heartbeat's `info` (docs/PROTOCOL.md 4), read and
/// written with the toolchain's JSON coders. Integers are kept apart from other numbers so
/// that `5` goes back out as `5`, not `5.0`.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Why a text is not the JSON a field needs.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Parses one JSON text.
    public init(parsing text: some Collection<UInt8>) throws(ParseError) {
        do {
            self = try JSONDecoder().decode(JSONValue.self, from: Data(text))
        } catch {
            throw ParseError(description: "not JSON (\(Self.reason(error)))")
        }
    }

    /// The value's compact JSON text, object keys sorted: one value, one text, so that a
    /// heartbeat republished with the same fields is the same record.
    public var jsonText: String {
        // Encoding fails only for a non-finite number, which no JSON text can hold.
        guard let data = try? Self.encoder.encode(self) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The number, integer or not.
    public var numberValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    /// A number as people write it in a rule or an error: `0`, not `0.0`.
    public static func text(of number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    /// The word a policy or an error names this value's type by.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The value as bencode, for a record published from JSON (`subnet-dht announce`):
    /// integers, strings, arrays and objects map one to one; bencode has no fractions,
    /// booleans or null, so those are refused rather than changed.
    public func bencoded() throws(ParseError) -> BValue {
        switch self {
        case .integer(let value): return .int(value)
        case .string(let value): return .string(value)
        case .array(let values):
            var list = [BValue]()
            for value in values { list.append(try value.bencoded()) }
            return .list(list)
        case .object(let fields):
            var entries = [[UInt8]: BValue]()
            for (key, value) in fields { entries[Array(key.utf8)] = try value.bencoded() }
            return .dict(entries)
        case .number, .bool, .null:
            throw ParseError(description: "bencode has no \(typeName == "number" ? "fractional number" : typeName): write it as a string or an integer")
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static func reason(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context)? = error as? DecodingError {
            return context.debugDescription + (context.underlyingError.map { ": \($0)" } ?? "")
        }
        return "\(error)"
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
