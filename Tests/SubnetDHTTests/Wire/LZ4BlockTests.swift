import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension WireTests {
    @Suite struct LZ4BlockTests {
        @Test func roundTripsAndShrinksRepetitivePages() throws {
            let page = Array(String(repeating: "d4:addr6:abcdef5:statei2e4:tputi1000ee", count: 40).utf8)
            let compressed = try #require(LZ4Block.compress(page))
            #expect(compressed.count < page.count / 4)
            #expect(try LZ4Block.decompress(compressed, originalSize: page.count) == page)
        }

        @Test func refusesBadLengthsAndCorruptBlocks() throws {
            let page = Array("hello hello hello hello hello".utf8)
            let compressed = try #require(LZ4Block.compress(page))
            #expect(throws: LZ4Block.Error.corrupt) { try LZ4Block.decompress(compressed, originalSize: page.count - 1) }
            #expect(throws: LZ4Block.Error.corrupt) { try LZ4Block.decompress(compressed, originalSize: page.count + 1) }
            #expect(throws: LZ4Block.Error.invalidLength(70_000)) { try LZ4Block.decompress(compressed, originalSize: 70_000) }
            #expect(throws: LZ4Block.Error.invalidLength(0)) { try LZ4Block.decompress(compressed, originalSize: 0) }
            var generator = SplitMix64(seed: 3)
            for _ in 0..<2000 {
                let junk = (0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                _ = try? LZ4Block.decompress(junk, originalSize: Int.random(in: 1...65_536, using: &generator))
            }
            #expect(LZ4Block.compress([]) == nil)
        }
    }
}
