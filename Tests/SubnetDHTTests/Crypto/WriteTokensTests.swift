import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension CryptoTests {
    /// `isValid` is mutating (it rotates lazily), and `#expect` would rewrite a method call into a
    /// closure over an immutable copy, so every check is bound to a local first.
    @Suite struct WriteTokensTests {
        let start = Timestamp(seconds: 1_700_000_000)
        let ip: IPAddress
        let target: NodeID

        init() throws {
            ip = try #require(IPAddress("203.0.113.5"))
            target = try #require(NodeID(hex: "4a533d47ec9c7d95b1ad75f576cffc641853b750"))
        }

        @Test func tokenIsBoundToIPAndTarget() throws {
            var tokens = WriteTokens(now: start)
            let token = tokens.token(for: ip, target: target, now: start)
            #expect(token.count == 8)
            let sameRequest = tokens.isValid(token, for: ip, target: target, now: start)
            let asSlice = tokens.isValid(token[...], for: ip, target: target, now: start + .seconds(10))
            let otherIPv4 = tokens.isValid(token, for: try #require(IPAddress("203.0.113.6")), target: target, now: start)
            let otherIPv6 = tokens.isValid(token, for: try #require(IPAddress("2001:db8::1")), target: target, now: start)
            let otherTarget = tokens.isValid(token, for: ip, target: target.flippingBit(159), now: start)
            #expect(sameRequest)
            #expect(asSlice)
            #expect(!otherIPv4)
            #expect(!otherIPv6)
            #expect(!otherTarget)
        }

        @Test func tokensForIPv6RequestersWork() throws {
            var tokens = WriteTokens(now: start)
            let requester = try #require(IPAddress("2001:db8::7"))
            let token = tokens.token(for: requester, target: target, now: start)
            let valid = tokens.isValid(token, for: requester, target: target, now: start)
            #expect(valid)
        }

        @Test func wrongLengthIsInvalid() {
            var tokens = WriteTokens(now: start)
            let token = tokens.token(for: ip, target: target, now: start)
            let empty = tokens.isValid([UInt8](), for: ip, target: target, now: start)
            let short = tokens.isValid(token.dropLast(), for: ip, target: target, now: start)
            let long = tokens.isValid(token + [0], for: ip, target: target, now: start)
            #expect(!empty)
            #expect(!short)
            #expect(!long)
        }

        @Test func previousSecretIsAcceptedForOneRotation() {
            var tokens = WriteTokens(rotationInterval: .seconds(300), now: start)
            let token = tokens.token(for: ip, target: target, now: start + .seconds(299))
            let afterOneRotation = tokens.isValid(token, for: ip, target: target, now: start + .seconds(301))
            let fresh = tokens.token(for: ip, target: target, now: start + .seconds(301))
            let lateInSecondInterval = tokens.isValid(token, for: ip, target: target, now: start + .seconds(599))
            let afterTwoRotations = tokens.isValid(token, for: ip, target: target, now: start + .seconds(600))
            let freshAfterTwo = tokens.isValid(fresh, for: ip, target: target, now: start + .seconds(600))
            #expect(afterOneRotation)
            #expect(fresh != token, "a new secret after rotation")
            #expect(lateInSecondInterval)
            #expect(!afterTwoRotations)
            #expect(freshAfterTwo)
        }

        /// Lazy rotation must behave like a timer: a long idle gap retires both secrets at once.
        @Test func idleGapOfTwoIntervalsInvalidatesEverything() {
            var tokens = WriteTokens(rotationInterval: .seconds(300), now: start)
            let token = tokens.token(for: ip, target: target, now: start)
            let old = tokens.isValid(token, for: ip, target: target, now: start + .seconds(650))
            let later = tokens.token(for: ip, target: target, now: start + .seconds(650))
            let new = tokens.isValid(later, for: ip, target: target, now: start + .seconds(650))
            #expect(!old)
            #expect(new)
        }

        /// Rotation follows a fixed schedule from `init`, so a token lives at most two intervals
        /// however the checks are spaced.
        @Test func rotationScheduleDoesNotDriftWithTraffic() {
            var tokens = WriteTokens(rotationInterval: .seconds(300), now: start)
            let token = tokens.token(for: ip, target: target, now: start + .seconds(1))
            let midway = tokens.isValid(token, for: ip, target: target, now: start + .seconds(450))
            let atSecondBoundary = tokens.isValid(token, for: ip, target: target, now: start + .seconds(600))
            #expect(midway)
            #expect(!atSecondBoundary)
        }

        @Test func secretsDifferPerInstance() {
            var first = WriteTokens(now: start)
            var second = WriteTokens(now: start)
            let token = first.token(for: ip, target: target, now: start)
            let otherToken = second.token(for: ip, target: target, now: start)
            let crossValid = second.isValid(token, for: ip, target: target, now: start)
            #expect(otherToken != token)
            #expect(!crossValid)
        }
    }
}
