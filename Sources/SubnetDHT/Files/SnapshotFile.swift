import SubnetDHTCore
/// A node's snapshot on disk: `<directory>/snapshot.lz4`, replaced atomically so that a crash
/// at any moment leaves either the previous snapshot or the complete new one.
///
/// Container (all integers unsigned 32-bit big-endian):
///
///     "SDHTSNP1"                      8-byte magic
///     chunk count                     1 ... maxChunkCount
///     per chunk:
///       uncompressed length           1 ... 65,536
///       compressed length             >= 1
///       LZ4 block                     `LZ4Block.compress` of that many payload bytes
///     CRC-32C                         over every byte before it
///
/// The payload is `NodeSnapshot.encoded()`, cut into chunks of at most `chunkSize` bytes
/// because `LZ4Block.decompress` expands at most that much at a time. The reader checks the
/// magic and the checksum first, then walks every chunk header and checks the lengths against
/// the file size and `maxPayloadSize` before it allocates or decompresses anything.
///
/// One writer per directory: the node that owns the directory. Two processes writing the same
/// directory at once would share the temporary file name.
public enum SnapshotFile {
    /// The snapshot inside its directory.
    public static let fileName = "snapshot.lz4"
    /// Where `write` puts the new snapshot before renaming it over `fileName`; one left by a
    /// crashed write is ignored by `read` and replaced by the next `write`.
    public static let temporaryFileName = "snapshot.lz4.tmp"
    /// Format of the container; the payload has its own version (`NodeSnapshot.formatVersion`).
    public static let magic: [UInt8] = Array("SDHTSNP1".utf8)
    /// Largest chunk before compression: what one `LZ4Block.decompress` call may produce.
    public static let chunkSize = LZ4Block.maxDecompressedSize
    /// Largest payload written or read (`NodeSnapshot.maxPayloadSize`).
    public static let maxPayloadSize = NodeSnapshot.maxPayloadSize

    /// Chunks needed for `maxPayloadSize`: a larger count is a lie.
    static let maxChunkCount = maxPayloadSize / chunkSize
    /// LZ4_COMPRESSBOUND(chunkSize) from lz4.h: the most one chunk can compress to.
    static let maxCompressedChunkSize = chunkSize + chunkSize / 255 + 16
    static let headerSize = 8 + 4
    static let chunkHeaderSize = 4 + 4
    static let checksumSize = 4
    /// Largest file a valid snapshot can be; anything bigger is refused before it is read.
    static let maxFileSize = headerSize + maxChunkCount * (chunkHeaderSize + maxCompressedChunkSize) + checksumSize

    /// Writes `snapshot` to `directory/snapshot.lz4`, creating the directory (mode 0700, with
    /// missing parents) if needed. The file is written to `snapshot.lz4.tmp` with mode 0600,
    /// fsynced, renamed over `snapshot.lz4`, and then the directory is fsynced.
    public static func write(_ snapshot: NodeSnapshot, to directory: String) throws(SnapshotError) {
        let contents = try seal(payload: snapshot.encoded())
        let paths = try Self.paths(in: directory)
        try DurableFile.makeDirectories(paths.directory)
        try DurableFile.replace(paths.file, through: paths.temporary, contents: contents)
        POSIXFile.syncDirectory(paths.directory)
    }

    /// Reads `directory/snapshot.lz4`: nil when the directory or the file does not exist,
    /// otherwise the snapshot and how many record entries in it were skipped as unparseable.
    /// A damaged file is `.corrupt`, never a partial or wrong snapshot; `snapshot.lz4.tmp`
    /// is never looked at.
    public static func read(from directory: String) throws(SnapshotError) -> LoadedSnapshot? {
        let path = try paths(in: directory).file
        guard let contents = try DurableFile.contents(of: path, limit: maxFileSize) else { return nil }
        do {
            return try NodeSnapshot.decode(unseal(contents))
        } catch .corrupt(let reason) {
            throw .corrupt("\(path): \(reason)")
        }
    }

    // MARK: - Container

    /// The container around `payload`: magic, chunks, checksum.
    static func seal(payload: [UInt8]) throws(SnapshotError) -> [UInt8] {
        guard payload.count <= maxPayloadSize else { throw .tooLarge(payload.count) }
        guard !payload.isEmpty else { throw .corrupt("nothing to write: empty payload") }
        let chunkCount = (payload.count + chunkSize - 1) / chunkSize
        var out = magic
        out.reserveCapacity(payload.count / 2 + 64)
        out.appendBigEndian(UInt32(chunkCount))
        var start = 0
        while start < payload.count {
            let end = min(start + chunkSize, payload.count)
            guard let compressed = LZ4Block.compress(Array(payload[start..<end])) else {
                throw .io("LZ4 could not compress a \(end - start)-byte chunk")
            }
            out.appendBigEndian(UInt32(end - start))
            out.appendBigEndian(UInt32(compressed.count))
            out.append(contentsOf: compressed)
            start = end
        }
        out.appendBigEndian(CRC32C.checksum(out))
        return out
    }

    /// The payload inside a container, after checking magic, checksum and every length.
    static func unseal(_ bytes: [UInt8]) throws(SnapshotError) -> [UInt8] {
        guard bytes.count >= headerSize + checksumSize else {
            if bytes.starts(with: magic) || magic.starts(with: bytes) {
                throw .corrupt("truncated: \(bytes.count) bytes, shorter than any snapshot")
            }
            throw .corrupt("bad magic: not a SubnetDHT snapshot")
        }
        guard bytes.starts(with: magic) else { throw .corrupt("bad magic: not a SubnetDHT snapshot") }
        let end = bytes.count - checksumSize
        guard CRC32C.checksum(bytes[0..<end]) == uint32(bytes, at: end) else {
            throw .corrupt("checksum mismatch: the file is truncated or damaged")
        }

        // Pass 1: every length is checked before anything is allocated.
        let chunkCount = Int(uint32(bytes, at: magic.count))
        guard chunkCount >= 1 else { throw .corrupt("no chunks") }
        guard chunkCount <= maxChunkCount else {
            throw .corrupt("chunk count \(chunkCount) exceeds the cap of \(maxChunkCount)")
        }
        guard chunkCount * chunkHeaderSize <= end - headerSize else {
            throw .corrupt("chunk count \(chunkCount) does not fit in the file")
        }
        var chunks = [(offset: Int, compressed: Int, original: Int)]()
        chunks.reserveCapacity(chunkCount)
        var position = headerSize
        var total = 0
        for index in 0..<chunkCount {
            guard end - position >= chunkHeaderSize else { throw .corrupt("chunk \(index) header runs past the end") }
            let original = Int(uint32(bytes, at: position))
            let compressed = Int(uint32(bytes, at: position + 4))
            position += chunkHeaderSize
            guard (1...chunkSize).contains(original) else {
                throw .corrupt("chunk \(index) claims \(original) uncompressed bytes (1...\(chunkSize) allowed)")
            }
            guard (1...maxCompressedChunkSize).contains(compressed), compressed <= end - position else {
                throw .corrupt("chunk \(index) claims \(compressed) compressed bytes, more than the file holds")
            }
            total += original
            guard total <= maxPayloadSize else {
                throw .corrupt("chunks claim more than \(maxPayloadSize) uncompressed bytes")
            }
            chunks.append((offset: position, compressed: compressed, original: original))
            position += compressed
        }
        guard position == end else { throw .corrupt("\(end - position) stray bytes after the last chunk") }

        // Pass 2: decompress into a buffer of the checked total.
        var payload = [UInt8]()
        payload.reserveCapacity(total)
        for (index, chunk) in chunks.enumerated() {
            do {
                let block = Array(bytes[chunk.offset..<(chunk.offset + chunk.compressed)])
                payload += try LZ4Block.decompress(block, originalSize: chunk.original)
            } catch {
                throw .corrupt("chunk \(index) does not decompress (\(error))")
            }
        }
        return payload
    }

    // MARK: - Helpers

    private static func paths(in directory: String) throws(SnapshotError) -> (directory: String, file: String, temporary: String) {
        guard !directory.isEmpty else { throw .io("snapshot directory path is empty") }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return (directory, prefix + fileName, prefix + temporaryFileName)
    }

    /// The big-endian u32 at `offset`; the caller has checked that four bytes are there.
    static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
