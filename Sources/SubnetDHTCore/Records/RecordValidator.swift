/// An `announce_record` as it moves through validation: the raw arguments, and what the
/// rules have established so far.
struct RecordSubmission {
    let arguments: [[UInt8]: BValue]
    let source: IPAddress
    /// The `key` argument if it is a byte string; looked up once, three rules read it.
    let keyBytes: [UInt8]?
    /// `v` bencoded, set by the value-size rule: measured there, then signed over and
    /// stored, so it is encoded once per store rather than three times.
    var encodedValue: [UInt8]?
    /// SHA1(`key`), set by the token rule; the replacement rule and the store use it again.
    var target: NodeID?
    /// Set by the field-types rule.
    var record: KeyedRecord?
    /// Set by the policy rule.
    var policy: KeyPolicy?
    /// Set by the replacement rule when the exact record is already stored.
    var alreadyStored = false
    /// The verdict on the datagram's signature, when the shell checked it ahead.
    let knownSignature: SignatureVerdict?

    init(arguments: [[UInt8]: BValue], source: IPAddress, knownSignature: SignatureVerdict? = nil) {
        self.arguments = arguments
        self.source = source
        self.knownSignature = knownSignature
        keyBytes = arguments[Argument.key]?.bytesValue
    }

    /// Argument names, made once: building each from a String cost an array per lookup.
    enum Argument {
        static let key = Array("key".utf8)
        static let token = Array("token".utf8)
        static let shardDepth = Array("sd".utf8)
        static let owner = Array("k".utf8)
        static let value = Array("v".utf8)
    }
}

/// What the rules may consult and update.
struct RecordValidationContext {
    let now: Timestamp
    let policies: KeyPolicies
    let store: RecordStore
    var tokens: WriteTokens
    var quota: OwnerQuota
}

/// One step of docs/PROTOCOL.md 3's validation; returns the rejection, or nil to go on.
protocol RecordRule: Sendable {
    func check(_ submission: inout RecordSubmission, in context: inout RecordValidationContext) -> KRPCError?
}

/// Step 1a: `v` at most 1,000 bytes bencoded (205).
struct ValueSizeRule: RecordRule {
    let maxValueSize: Int
    func check(_ submission: inout RecordSubmission, in context: inout RecordValidationContext) -> KRPCError? {
        guard let value = submission.arguments[RecordSubmission.Argument.value] else { return nil }
        let encoded = Bencode.encode(value)
        guard encoded.count <= maxValueSize else { return .valueTooBig }
        submission.encodedValue = encoded
        return nil
    }
}

/// Step 1b: `key` 1 to 64 bytes (207).
struct KeyLengthRule: RecordRule {
    func check(_ submission: inout RecordSubmission, in context: inout RecordValidationContext) -> KRPCError? {
        guard let key = submission.keyBytes else { return nil }
        return (1...KeyedRecord.maxKeyLength).contains(key.count) ? nil : KRPCError(code: 207, message: "key must be 1 to 64 bytes")
    }
}

/// Step 2: the write token was issued to this source IP for this key's target (203).
struct TokenRule: RecordRule {
    func check(_ submission: inout RecordSubmission, in context: inout RecordValidationContext) -> KRPCError? {
        guard let token = submission.arguments[RecordSubmission.Argument.token]?.bytesValue, let key = submission.keyBytes
        else { return .protocolError("bad token") }
        var target = KeyedRecord.target(forKey: key)
        // docs/PROTOCOL.md 3.3: `sd`, the key's shard depth, names the shard target.
        if let depthValue = submission.arguments[RecordSubmission.Argument.shardDepth] {
            guard let depth = depthValue.intValue, (0...Int64(KeyedRecord.maxShardDepth)).contains(depth) else {
                return .protocolError("sd must be an integer from 0 to \(KeyedRecord.maxShardDepth)")
            }
            guard let ownerBytes = submission.arguments[RecordSubmission.Argument.owner]?.bytesValue,
                let owner = PublicKey(bytes: ownerBytes) else { return .protocolError("bad token") }
            target = KeyedRecord.target(forKey: key, owner: owner, shardDepth: Int(depth))
        }
        submission.target = target
        return context.tokens.isValid(token, for: submission.source, target: target, now: context.now) ? nil : .protocolError("bad token")
    }
}

/// Step 3: every field present with its type; `seq` not negative (203).
struct FieldTypesRule: RecordRule {
    func check(_ submission: inout RecordSubmission, in context: inout RecordValidationContext) -> KRPCError? {
        guard let key = submission.keyBytes else { return .protocolError("key must be a byte string") }
        do {
            // The arguments as they are: the record reads only its own fields, and copying the
            // dictionary to drop `key` and `token` cost a rehash of every entry.
            submission.record = try KeyedRecord(wire: .dict(submission.arguments), key: key)
            return nil
        } catch {
            return .protocolError("bad record: \(error)")
        }
    }
}

/// Step 4: `exp` in (now, now + the key's max TTL + clock skew] (208). Keys without a
/// policy are judged by the open-key TTL here; the policy step refuses them after.
struct ExpiryWindowRule: RecordRule {
    func check(_ submission: inout RecordSubmission, in context: inout RecordValidationContext) -> KRPCError? {
        guard let record = submission.record else { return .protocolError("no record") }
        let maxTTL = context.policies.policy(for: record.key)?.maxTTL ?? KeyPolicy.openKey.maxTTL
        let expiresMs = record.expires.multipliedReportingOverflow(by: 1000)
        guard !expiresMs.overflow, expiresMs.partialValue > context.now.milliseconds,
            expiresMs.partialValue <= (context.now + maxTTL + RecordValidation.clockSkew).milliseconds
        else { return KRPCError(code: 208, message: "expiry out of range") }
        return nil
    }
}

/// Step 5: the owner's signature over the record buffer (206).
struct SignatureRule: RecordRule {
    func check(_ submission: inout RecordSubmission, in context: inout RecordValidationContext) -> KRPCError? {
        guard let record = submission.record else { return .invalidSignature }
        let valid = record.hasValidSignature(encodedValue: submission.encodedValue ?? record.encodedValue, known: submission.knownSignature)
        return valid ? nil : .invalidSignature
    }
}

/// Step 6: the key's policy: known key (or open keys), allowed writer, value schema, and the
/// owner's store quota (209).
struct KeyPolicyRule: RecordRule {
    func check(_ submission: inout RecordSubmission, in context: inout RecordValidationContext) -> KRPCError? {
        guard let record = submission.record else { return .protocolError("no record") }
        guard let policy = context.policies.policy(for: record.key) else {
            return RecordValidation.policyRefusal("no policy for key \(String(decoding: record.key, as: UTF8.self))")
        }
        if let reason = policy.refusal(of: record) { return RecordValidation.policyRefusal(reason) }
        guard context.quota.allows(key: record.key, owner: record.owner, limit: policy.storesPerOwnerPerMinute, now: context.now) else {
            return RecordValidation.policyRefusal("store quota exceeded for this owner")
        }
        submission.policy = policy
        return nil
    }
}

/// Step 7: never replace a newer record, nor the same seq with another value (302). The
/// identical record is accepted and changes nothing, its expiry included.
struct ReplacementRule: RecordRule {
    func check(_ submission: inout RecordSubmission, in context: inout RecordValidationContext) -> KRPCError? {
        guard let record = submission.record else { return .protocolError("no record") }
        guard let stored = context.store.record(target: submission.target ?? record.target, owner: record.owner, now: context.now)
        else { return nil }
        if stored.seq > record.seq { return .sequenceNotNewer }
        if stored.seq == record.seq {
            guard stored == record else { return .sequenceNotNewer }
            submission.alreadyStored = true
        }
        return nil
    }
}

public enum RecordValidation {
    /// Clocks of honest peers disagree by a little; docs/PROTOCOL.md 3 allows 30 s.
    public static let clockSkew: Duration = .seconds(30)

    static func policyRefusal(_ reason: String) -> KRPCError { KRPCError(code: 209, message: "rejected by record policy: \(reason)") }
}

/// The outcome of a valid submission.
enum RecordVerdict {
    /// Store (or replace with) this record under the policy's limits; its target and its
    /// bencoded `v`, worked out while validating, come along for the store to reuse.
    case store(KeyedRecord, KeyPolicy, target: NodeID, encodedValue: [UInt8])
    /// The exact record is already stored: accept, change nothing.
    case unchanged
}

/// docs/PROTOCOL.md 3's validation pipeline: the rules in the protocol's order, first failure
/// wins, nothing is stored on failure. Owns the per-owner quota counters.
struct RecordValidator: Sendable {
    let rules: [any RecordRule]
    private(set) var quota = OwnerQuota()

    init(maxValueSize: Int) {
        rules = [ValueSizeRule(maxValueSize: maxValueSize), KeyLengthRule(), TokenRule(), FieldTypesRule(), ExpiryWindowRule(),
                 SignatureRule(), KeyPolicyRule(), ReplacementRule()]
    }

    mutating func validate(_ arguments: [[UInt8]: BValue], from source: IPAddress, knownSignature: SignatureVerdict? = nil,
                           policies: KeyPolicies, store: RecordStore, tokens: inout WriteTokens, now: Timestamp)
        -> Result<RecordVerdict, KRPCError> {
        var submission = RecordSubmission(arguments: arguments, source: source, knownSignature: knownSignature)
        // Move the quota table into the context rather than copying it: a copy would be
        // duplicated on its first write, costing time in proportion to the owners tracked.
        var context = RecordValidationContext(now: now, policies: policies, store: store, tokens: tokens, quota: OwnerQuota())
        swap(&context.quota, &quota)
        defer {
            tokens = context.tokens
            swap(&context.quota, &quota)
        }
        for rule in rules {
            if let rejection = rule.check(&submission, in: &context) { return .failure(rejection) }
            if submission.alreadyStored { return .success(.unchanged) }
        }
        guard let record = submission.record, let policy = submission.policy else { return .failure(.generic("validation incomplete")) }
        // Charged here, past the replacement rule: only a record that changes the store counts.
        context.quota.charge(key: record.key, owner: record.owner, now: now)
        return .success(.store(record, policy, target: submission.target ?? record.target, encodedValue: submission.encodedValue ?? record.encodedValue))
    }
}
