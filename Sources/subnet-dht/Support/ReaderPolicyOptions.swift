import ArgumentParser
import SubnetDHT

/// `--policy FILE` for the commands that read records: what a node with that policy would not
/// accept is not shown, whoever stored it (a replica without the policy, or with another).
struct ReaderPolicyOptions: ParsableArguments {
    @Option(help: "The subnet's validator rules (docs/POLICY.md): records they refuse are not shown, as a node running with them would not show them.")
    var policy: String?

    func validate() throws {
        _ = try policies()
    }

    /// The file's policies; nil without --policy.
    func policies() throws -> KeyPolicies? {
        guard let policy else { return nil }
        do {
            return try PolicyFile.load(path: policy).policies
        } catch {
            throw ValidationError("--policy \(error)")
        }
    }

    /// `records` of `key` that the policy accepts (all of them without --policy).
    func admitted(_ records: [KeyedRecord], key: String) throws -> [KeyedRecord] {
        guard let policies = try policies() else { return records }
        guard let keyPolicy = policies.policy(for: Array(key.utf8)) else {
            Console.err("the policy has no rules for \(key) and its open_keys is false: nodes running it accept nothing under \(key)")
            return []
        }
        return records.filter { keyPolicy.refusal(of: $0) == nil }
    }
}
