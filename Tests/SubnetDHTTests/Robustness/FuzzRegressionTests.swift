import Foundation
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension RobustnessTests {
    /// Every input the fuzzer ever stopped on (`Fuzz/Regressions`, one file per crash, named for
    /// what it found) and the seed corpus go through the same harness as the fuzzer: a crash
    /// fixed once stays fixed.
    @Suite struct FuzzRegressionTests {
        static let fuzzFolder = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz")

        static func inputs(in folder: String) -> [URL] {
            let directory = fuzzFolder.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { directory.appendingPathComponent($0) }
        }

        @Test func seedCorpusAndRegressionsPassTheHarness() throws {
            let seeds = Self.inputs(in: "Corpus"), regressions = Self.inputs(in: "Regressions")
            #expect(seeds.count >= 20, "the seed corpus is in Fuzz/Corpus")
            for file in seeds + regressions {
                DatagramHarness.exercise(Array(try Data(contentsOf: file)))
            }
        }

        @Test func theHarnessReachesTheValidatorsLaterRules() throws {
            // A put with a forged signature stops at the token check (203) as sent; with the
            // harness's valid token it must reach the signature check (206), which a fuzzer
            // input could never reach by guessing a token.
            let bytes = Array(try Data(contentsOf: Self.fuzzFolder.appendingPathComponent("Corpus/put-mutable")))
            func codes(_ datagram: [UInt8], core: inout DHTCore) -> [Int] {
                core.receive(datagram, from: DatagramHarness.stranger, now: DatagramHarness.start)
                return core.takeEffects().compactMap { effect -> Int? in
                    guard case .send(let reply, _) = effect, case .error(let error)? = try? KRPCCodec.decode(reply).body else { return nil }
                    return error.code
                }
            }
            var core = DHTCore(localID: .random(), settings: .loopbackTestNetwork, now: DatagramHarness.start)
            #expect(codes(bytes, core: &core) == [203])
            let retokened = try #require(DatagramHarness.withValidToken(bytes, core: &core))
            #expect(codes(retokened, core: &core) == [206])
        }
    }
}
