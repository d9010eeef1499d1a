import CLZ4

/// LZ4 block compression (liblz4), for record pages (`rz`/`rn`) and snapshots. Pages of
/// similar records shrink well; a single small message barely does, so callers compare sizes
/// and send whichever form is smaller.
public enum LZ4Block {
    /// docs/PROTOCOL.md 3: `rn`, the uncompressed length of a page, is at most 65,536.
    public static let maxDecompressedSize = 65_536

    public enum Error: Swift.Error, Hashable, Sendable {
        case invalidLength(Int)
        case corrupt
    }

    /// The compressed block, or nil when the input is empty or too large for one block.
    public static func compress(_ input: [UInt8]) -> [UInt8]? {
        guard !input.isEmpty, input.count <= Int(LZ4_MAX_INPUT_SIZE) else { return nil }
        let bound = Int(LZ4_compressBound(Int32(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let written = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                source.withMemoryRebound(to: CChar.self) { source in
                    destination.withMemoryRebound(to: CChar.self) { destination in
                        LZ4_compress_default(source.baseAddress, destination.baseAddress, Int32(source.count), Int32(destination.count))
                    }
                }
            }
        }
        guard written > 0 else { return nil }
        output.removeSubrange(Int(written)...)
        return output
    }

    /// Decompresses a block that must expand to exactly `originalSize` bytes (at most
    /// `maxDecompressedSize`). A hostile block can neither overrun nor allocate more than that.
    public static func decompress(_ input: [UInt8], originalSize: Int) throws(LZ4Block.Error) -> [UInt8] {
        guard (1...maxDecompressedSize).contains(originalSize) else { throw .invalidLength(originalSize) }
        guard !input.isEmpty else { throw .corrupt }
        var output = [UInt8](repeating: 0, count: originalSize)
        let produced = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination in
                source.withMemoryRebound(to: CChar.self) { source in
                    destination.withMemoryRebound(to: CChar.self) { destination in
                        LZ4_decompress_safe(source.baseAddress, destination.baseAddress, Int32(source.count), Int32(destination.count))
                    }
                }
            }
        }
        guard produced == originalSize else { throw .corrupt }
        return output
    }
}
