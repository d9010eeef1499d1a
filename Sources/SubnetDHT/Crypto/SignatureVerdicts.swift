import Collections
import NIOConcurrencyHelpers

/// Ed25519 verdicts reached ahead of time, for `PublicKey.verify` to use instead of checking
/// again. A node's shell checks the signature of a store query on a worker thread before the
/// event loop sees the query (`SignaturePrecheck`); the core then asks `PublicKey.verify` as
/// always, and the verdict is waiting. The core stays as it was: `verify` is a pure function,
/// so a remembered answer is the answer, and a test without a shell never fills this.
///
/// A verdict is kept for its exact (public key, signature, message) triple and handed out
/// once. It is bounded: the oldest are forgotten first, and a forgotten verdict only means the
/// event loop verifies that one itself. Shared by every node of the process, which is safe
/// for the same reason: a verdict is true everywhere.
public final class SignatureVerdicts: Sendable {
    public static let shared = SignatureVerdicts(capacity: 4096)

    private struct Verdict {
        let publicKey: [UInt8]
        let message: [UInt8]
        let valid: Bool
    }

    /// A signature as a dictionary key, hashed in one call (`Hasher.combine(contentsOf:)`).
    private struct Signature: Hashable {
        let bytes: [UInt8]
        func hash(into hasher: inout Hasher) { hasher.combine(contentsOf: bytes) }
    }

    private struct State {
        /// Keyed by the signature: 64 bytes that name the triple as well as anything would.
        var verdicts: [Signature: Verdict] = [:]
        /// Signatures in the order they came, to forget the oldest; may name one taken already.
        var arrivals: Deque<Signature> = []
    }

    public let capacity: Int
    private let state = NIOLockedValueBox(State())

    public init(capacity: Int) {
        precondition(capacity > 0, "a memo of no verdicts is no memo")
        self.capacity = capacity
    }

    /// Remembers that `signature` by `publicKey` over `message` is (or is not) valid.
    func record(publicKey: [UInt8], signature: [UInt8], message: [UInt8], valid: Bool) {
        state.withLockedValue { state in
            // Bounded by arrivals, not by what is still held: verdicts taken at once would
            // otherwise let `arrivals` grow without end.
            while state.arrivals.count >= capacity, let oldest = state.arrivals.popFirst() {
                state.verdicts[oldest] = nil
            }
            state.verdicts[Signature(bytes: signature)] = Verdict(publicKey: publicKey, message: message, valid: valid)
            state.arrivals.append(Signature(bytes: signature))
        }
    }

    /// The verdict for this exact triple, forgotten as it is handed out; nil when none is held.
    func take(publicKey: [UInt8], signature: [UInt8], message: [UInt8]) -> Bool? {
        state.withLockedValue { state in
            let key = Signature(bytes: signature)
            guard let verdict = state.verdicts[key], verdict.publicKey == publicKey, verdict.message == message else {
                return nil
            }
            state.verdicts[key] = nil
            return verdict.valid
        }
    }

    /// Verdicts held now (tests and the status page's curiosity).
    var count: Int { state.withLockedValue { $0.verdicts.count } }
}
