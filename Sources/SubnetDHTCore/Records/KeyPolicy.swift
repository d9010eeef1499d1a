/// What a key accepts: who may write, what the value must look like, how long records may
/// live, how many owners the key holds and how often one owner may store. A node refuses
/// (209) records for keys without a policy unless it runs with open keys.
public struct KeyPolicy: Sendable {
    /// Largest `exp - now` accepted (plus `RecordValidation.clockSkew`).
    public var maxTTL: Duration
    /// Most distinct owners one node keeps under the key.
    public var maxOwners: Int
    /// Stores one owner may make per minute on one node, so an owner cannot flood replicas.
    public var storesPerOwnerPerMinute: Int
    /// Owners allowed to write; nil lets anyone with a valid signature write their own subkey.
    public var allowedWriters: Set<PublicKey>?
    /// Checks the value; returns why it is refused, or nil to accept.
    public var valueCheck: @Sendable (BValue) -> String?

    public init(maxTTL: Duration, maxOwners: Int, storesPerOwnerPerMinute: Int, allowedWriters: Set<PublicKey>? = nil,
                valueCheck: @escaping @Sendable (BValue) -> String? = { _ in nil }) {
        self.maxTTL = maxTTL
        self.maxOwners = maxOwners
        self.storesPerOwnerPerMinute = storesPerOwnerPerMinute
        self.allowedWriters = allowedWriters
        self.valueCheck = valueCheck
    }

    /// Why the policy refuses `record` for who wrote it and what it holds, or nil. The quota is
    /// not judged here: it counts stores over time, which only the validator sees.
    func refusal(of record: KeyedRecord) -> String? {
        if let writers = allowedWriters, !writers.contains(record.owner) { return "owner may not write this key" }
        return valueCheck(record.value)
    }

    /// docs/PROTOCOL.md 4: the heartbeat key. Values are ServerInfo dictionaries with a role
    /// from `roles`; TTL at most an hour; 10,000 owners; 60 stores per owner per minute.
    public static func node(roles: Set<String> = ServerInfo.defaultRoles, maxOwners: Int = 10_000,
                            storesPerOwnerPerMinute: Int = 60) -> KeyPolicy {
        KeyPolicy(maxTTL: .seconds(3600), maxOwners: maxOwners, storesPerOwnerPerMinute: storesPerOwnerPerMinute) { value in
            do throws(ServerInfoError) {
                let info = try ServerInfo(bencoded: value)
                return roles.contains(info.role) ? nil : "role \(info.role) is not one of this subnet's roles"
            } catch {
                return "not a ServerInfo: \(error.message)"
            }
        }
    }

    /// What a node running with open keys applies to keys it has no policy for: any value,
    /// TTL up to an hour, the same owner and rate bounds as `node`.
    public static let openKey = KeyPolicy(maxTTL: .seconds(3600), maxOwners: 10_000, storesPerOwnerPerMinute: 60)
}

/// The policies a node enforces, by key.
public struct KeyPolicies: Sendable {
    public var byKey: [[UInt8]: KeyPolicy]
    /// Accept keys with no registered policy under `KeyPolicy.openKey` (`--open-keys`).
    public var openKeys: Bool

    public init(_ policies: [String: KeyPolicy] = ["node": .node()], openKeys: Bool = false) {
        byKey = Dictionary(uniqueKeysWithValues: policies.map { (Array($0.key.utf8), $0.value) })
        self.openKeys = openKeys
    }

    public mutating func register(_ policy: KeyPolicy, for key: String) {
        byKey[Array(key.utf8)] = policy
    }

    /// The policy for `key`, or nil when the key is refused.
    public func policy(for key: [UInt8]) -> KeyPolicy? {
        byKey[key] ?? (openKeys ? .openKey : nil)
    }
}
