import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CryptoTests {
    /// A core's randomness comes from its seed alone: the same seed replays a run, another seed
    /// does not, and the secret stream is not the general one.
    @Suite struct CoreSeedTests {
        let now = Timestamp(seconds: 1_700_000_000)
        let ip = IPAddress("203.0.113.5")!
        let target = NodeID(high: 1, middle: 2, low: 3)

        @Test func aSeedIsExactly32Bytes() {
            #expect(CoreSeed(bytes: [UInt8](repeating: 1, count: 31)) == nil)
            #expect(CoreSeed(bytes: [UInt8](repeating: 1, count: 33)) == nil)
            #expect(CoreSeed(bytes: [UInt8](repeating: 1, count: 32)) != nil)
        }

        @Test func tokenSecretsComeFromTheSeed() {
            let seed = CoreSeed(bytes: [UInt8](repeating: 7, count: 32))!
            var first = WriteTokens(seed: seed, now: now)
            var second = WriteTokens(seed: seed, now: now)
            var other = WriteTokens(seed: CoreSeed(bytes: [UInt8](repeating: 8, count: 32))!, now: now)
            let token = first.token(for: ip, target: target, now: now)
            #expect(second.token(for: ip, target: target, now: now) == token)
            #expect(other.token(for: ip, target: target, now: now) != token)
            // After rotations the two stay in step: each secret is the seed's next.
            let later = now + .seconds(1_000)
            #expect(first.token(for: ip, target: target, now: later) == second.token(for: ip, target: target, now: later))
            #expect(first.token(for: ip, target: target, now: later) != token)
        }

        @Test func theSystemSeedDiffersEachTime() {
            var first = WriteTokens(seed: .system(), now: now)
            var second = WriteTokens(seed: .system(), now: now)
            #expect(first.token(for: ip, target: target, now: now) != second.token(for: ip, target: target, now: now))
        }

        /// Two cores with one seed, given the same calls at the same times, send the same bytes:
        /// transaction ids, refresh targets and tokens included.
        @Test func theSameSeedReplaysACoreExactly() {
            func run(_ seed: UInt64) -> [[UInt8]] {
                var core = DHTCore(localID: NodeID(high: 9, middle: 9, low: 9), settings: .loopbackTestNetwork,
                                   seed: CoreSeed(replayable: seed), now: now)
                _ = core.bootstrap(from: [Endpoint("127.0.0.1:7000")!, Endpoint("127.0.0.1:7001")!], now: now)
                _ = core.startLookup(target: target, kind: .findNode, now: now)
                core.tick(now: now + .seconds(600))
                return core.takeEffects().compactMap { effect in
                    if case .send(let bytes, _) = effect { bytes } else { nil }
                }
            }
            let first = run(11)
            #expect(!first.isEmpty)
            #expect(run(11) == first)
            #expect(run(12) != first)
        }
    }
}
