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
    /// docs/PROTOCOL.md 3.3: the key's records are stored under 2^`shardDepth` targets, by
    /// their owner key's top bits, instead of SHA1(key) alone (0). Every member of a subnet
    /// must use the same depth for a key: readers look where writers store.
    public var shardDepth = 0

    /// A policy with the given bounds.
    ///
    /// - Parameters:
    ///   - maxTTL: The longest a record may live, counted from when a replica stores it.
    ///   - maxOwners: Distinct owners one node keeps under the key; past it, new owners are refused.
    ///   - storesPerOwnerPerMinute: Stores one owner may make per minute on one node.
    ///   - allowedWriters: The only owners allowed to write; nil (the default) allows anyone.
    ///   - valueCheck: Returns why a value is refused, or nil to accept it; by default every
    ///     value is accepted.
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
    public func refusal(of record: KeyedRecord) -> String? {
        refusal(owner: record.owner, value: record.value)
    }

    /// Why the policy refuses `value` from `owner`, or nil.
    public func refusal(owner: PublicKey, value: BValue) -> String? {
        if let writers = allowedWriters, !writers.contains(owner) { return "owner may not write this key" }
        return valueCheck(value)
    }

    /// docs/PROTOCOL.md 4: the heartbeat key. Values are ServerInfo dictionaries with a role
    /// from `roles` and subnet fields that keep `infoRules`; TTL at most `maxTTL` (an hour);
    /// 10,000 owners; 60 stores per owner per minute.
    public static func node(roles: Set<String> = ServerInfo.defaultRoles, maxOwners: Int = 10_000,
                            storesPerOwnerPerMinute: Int = 60, maxTTL: Duration = .seconds(3600),
                            infoRules: [String: InfoFieldRule] = [:]) -> KeyPolicy {
        let rules = infoRules.sorted { $0.key < $1.key }
        return KeyPolicy(maxTTL: maxTTL, maxOwners: maxOwners, storesPerOwnerPerMinute: storesPerOwnerPerMinute) { value in
            do throws(ServerInfoError) {
                let info = try ServerInfo(bencoded: value)
                guard roles.contains(info.role) else { return "role \(info.role) is not one of this subnet's roles" }
                for (name, rule) in rules {
                    if let refusal = rule.refusal(of: info.info[name], field: name) { return refusal }
                }
                return nil
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
///
/// Every node that stores a key's records must know its policy: register the same
/// policies on every member of a subnet.
///
///     var settings = DHTSettings()
///     settings.keyPolicies.register(KeyPolicy(maxTTL: .seconds(600), maxOwners: 1_000,
///                                             storesPerOwnerPerMinute: 10), for: "jobs")
public struct KeyPolicies: Sendable {
    /// The registered policies, by the key's UTF-8 bytes.
    public var byKey: [[UInt8]: KeyPolicy]
    /// Accept keys with no registered policy under `KeyPolicy.openKey` (`--open-keys`).
    public var openKeys: Bool

    /// Policies by key; by default `node` alone, under `KeyPolicy.node()`, and no open keys.
    /// Passing a dictionary replaces the default: include `"node": .node()` to keep heartbeats.
    public init(_ policies: [String: KeyPolicy] = ["node": .node()], openKeys: Bool = false) {
        byKey = Dictionary(uniqueKeysWithValues: policies.map { (Array($0.key.utf8), $0.value) })
        self.openKeys = openKeys
    }

    /// Adds `policy` for `key`, replacing any policy the key had.
    public mutating func register(_ policy: KeyPolicy, for key: String) {
        byKey[Array(key.utf8)] = policy
    }

    /// The policy for `key`, or nil when the key is refused.
    public func policy(for key: [UInt8]) -> KeyPolicy? {
        byKey[key] ?? (openKeys ? .openKey : nil)
    }
}
