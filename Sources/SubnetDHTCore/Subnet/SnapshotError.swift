/// Why a snapshot could not be written or read. Reading never crashes on file content:
/// anything wrong with the container or its payload is one of these values.
public enum SnapshotError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file is not a complete, intact snapshot: truncated, bad magic, checksum mismatch,
    /// chunk lengths that do not add up, an LZ4 or bencode error, or a missing or malformed
    /// field. The text says which, and for files which path.
    case corrupt(String)
    /// The payload is intact but written in format version `v` this build does not read.
    case unsupportedVersion(Int)
    /// The file system refused: cannot create the directory, open, write, fsync or rename.
    case io(String)
    /// The snapshot encodes to this many bytes, more than `NodeSnapshot.maxPayloadSize`,
    /// so it is not written: a reader would refuse it.
    case tooLarge(Int)

    public var description: String {
        switch self {
        case .corrupt(let reason):
            "snapshot is corrupt: \(reason)"
        case .unsupportedVersion(let version):
            "snapshot format version \(version) is not supported (this build reads version \(NodeSnapshot.formatVersion))"
        case .io(let reason):
            "snapshot I/O failed: \(reason)"
        case .tooLarge(let size):
            "snapshot of \(size) bytes exceeds the \(NodeSnapshot.maxPayloadSize)-byte cap"
        }
    }
}
