/// A KRPC error (`y` = `e`): `[code, message]`. Codes are docs/PROTOCOL.md 1's.
public struct KRPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    public static func generic(_ message: String) -> KRPCError { KRPCError(code: 201, message: message) }
    public static func server(_ message: String) -> KRPCError { KRPCError(code: 202, message: message) }
    public static func protocolError(_ message: String) -> KRPCError { KRPCError(code: 203, message: message) }
    /// The echoed name is cut to 64 bytes so that the error stays small whatever was sent.
    public static func methodUnknown(_ name: String) -> KRPCError {
        KRPCError(code: 204, message: "method unknown: \(String(decoding: name.utf8.prefix(64), as: UTF8.self))")
    }
    public static let valueTooBig = KRPCError(code: 205, message: "message (v field) too big")
    public static let invalidSignature = KRPCError(code: 206, message: "invalid signature")
    public static let saltTooBig = KRPCError(code: 207, message: "salt (salt field) too big")
    public static let casMismatch = KRPCError(code: 301, message: "the CAS hash mismatched, re-read value and try again")
    public static let sequenceNotNewer = KRPCError(code: 302, message: "sequence number less than current")

    public var description: String { "\(code) \(message)" }
}
