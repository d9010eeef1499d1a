import SubnetDHTCore

/// Why a change to the node's heartbeat was not made.
public enum SelfUpdateError: Error, Equatable, CustomStringConvertible {
    /// The request is not a change: not JSON, not an object, an unknown field, a wrong type.
    case badRequest(String)
    /// A well-formed change the node will not publish, with the code a replica would answer:
    /// 205 when the heartbeat would outgrow a record's value, 209 when the key's policy refuses it.
    case refused(String, code: Int)
    /// The node runs without heartbeats (`--no-heartbeat`): there is nothing to change.
    case noHeartbeat
    /// The node is not running yet, or any more.
    case notRunning

    public var description: String {
        switch self {
        case .badRequest(let message), .refused(let message, _): message
        case .noHeartbeat: "this node runs without heartbeats (--no-heartbeat): it has no heartbeat to change"
        case .notRunning: "the node is not running"
        }
    }
}

/// A change to what a node's heartbeat says, as `PUT /self` and `subnet-dht update` take it:
/// the fields given change, the others stay.
public struct SelfUpdate: Sendable, Equatable {
    public var role: String?
    /// `.some(nil)` removes the name.
    public var name: String??
    /// Requests per second.
    public var throughput: Double?
    /// `.online` or `.offline`: an application that stops serving says OFFLINE and stays in
    /// the subnet, heartbeating, until it says ONLINE again.
    public var state: ServerInfo.State?
    /// Subnet fields to set, merged into the current ones; a `.null` value removes the field.
    public var info: [String: JSONValue]

    public init(role: String? = nil, name: String?? = nil, throughput: Double? = nil, state: ServerInfo.State? = nil,
                info: [String: JSONValue] = [:]) {
        self.role = role
        self.name = name
        self.throughput = throughput
        self.state = state
        self.info = info
    }

    /// The fields a body may have.
    public static let fields = ["role", "name", "tput", "state", "info"]

    /// The change a JSON object asks for: `{"role": "miner", "name": null, "tput": 12.5,
    /// "state": "online", "info": {"stake": 5, "relay": null}}`, every field optional.
    public init(json: some Collection<UInt8>) throws(SelfUpdateError) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: json)
        } catch {
            throw .badRequest("the body is not JSON: \(error)")
        }
        guard case .object(let fields) = value else { throw .badRequest("the body must be a JSON object, not \(value.typeName)") }
        self.init()
        for (field, value) in fields.sorted(by: { $0.key < $1.key }) {
            switch (field, value) {
            case ("role", .string(let role)): self.role = role
            case ("name", .string(let name)): self.name = .some(name)
            case ("name", .null): self.name = .some(nil)
            case ("tput", let number) where number.numberValue != nil: self.throughput = number.numberValue
            case ("state", .string("online")): self.state = .online
            case ("state", .string("offline")): self.state = .offline
            case ("state", _): throw .badRequest("state must be \"online\" or \"offline\", not \(value.jsonText)")
            case ("info", .object(let info)): self.info = info
            case ("role", _), ("name", _), ("tput", _), ("info", _):
                let wanted = ["role": "a string", "name": "a string or null", "tput": "a number", "info": "an object"][field] ?? ""
                throw .badRequest("\(field) must be \(wanted), not \(value.typeName)")
            default:
                throw .badRequest("unknown field \(JSONText.quoted(field)): a body has \(Self.fields.joined(separator: ", "))")
            }
        }
        try check()
    }

    /// The limits of docs/PROTOCOL.md 4 on what this change sets.
    public func check() throws(SelfUpdateError) {
        if let role, !(1...ServerInfo.maxRoleLength).contains(role.utf8.count) {
            throw .badRequest("role must be 1 to \(ServerInfo.maxRoleLength) bytes, not \(role.utf8.count)")
        }
        if case .some(let name?) = name, name.utf8.count > ServerInfo.maxNameLength {
            throw .badRequest("name must be at most \(ServerInfo.maxNameLength) bytes, not \(name.utf8.count)")
        }
        if let throughput, !throughput.isFinite || throughput < 0 || throughput > Self.largestThroughput {
            throw .badRequest("tput must be a number of requests per second from 0 to \(Int64(Self.largestThroughput)), not \(JSONValue.text(of: throughput))")
        }
        if let state, state == .joining { throw .badRequest("state must be \"online\" or \"offline\"") }
    }

    /// Requests per second that still fit `tput`'s thousandths in an Int64.
    static let largestThroughput = Double(Int64.max / 1000)

    /// `info` with this change made.
    public func applied(to info: ServerInfo) -> ServerInfo {
        var changed = info
        if let role { changed.role = role }
        if let name { changed.name = name }
        if let throughput {
            changed.throughput = Int64((throughput * 1000).rounded())
            changed.throughputReported = true
        }
        if let state { changed.state = state }
        for (field, value) in self.info {
            changed.info[field] = value == .null ? nil : value
        }
        return changed
    }
}
