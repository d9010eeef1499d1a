#if canImport(Glibc)
import Glibc
#endif

import SubnetDHTCore

/// Checks the signatures of store queries on worker threads, ahead of the event loop. An
/// ed25519 verify costs several times the rest of a store's work, and one event loop doing
/// them all left the machine's other cores idle. Each verdict goes to the core with its datagram (`PrecheckedDatagram`); the
/// core still judges everything else in its order.
enum SignaturePrecheck {
    /// Whether `datagram` names a `sig` field and says it is a query (`1:y1:q`), as every
    /// signed `announce_record` and `put` does. One pass over the bytes, cheap beside a decode;
    /// a false positive (a query whose value holds the bytes) costs one decode on a worker.
    /// Answers are left out: a `get`'s answers carry signatures too, and sending them through
    /// the pool put a thread hop on every reply of a lookup for nothing, since the core
    /// verifies only the one whose `seq` is newer.
    static func mayBeSignedStore(_ datagram: [UInt8]) -> Bool {
        datagram.withUnsafeBufferPointer { bytes in
            guard bytes.count >= 6, let base = bytes.baseAddress else { return false }
            var namesSignature = false
            var isQuery = false
            // Each colon with its digit before and the four bytes after, all inside the
            // datagram. libc's memchr finds the next colon rather than a comparison per byte:
            // padded get_records queries are mostly padding, and the scan walks it.
            var index = 1
            while index <= bytes.count - 5,
                let found = memchr(base + index, Int32(UInt8(ascii: ":")), bytes.count - 4 - index) {
                index = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if bytes[index - 1] == UInt8(ascii: "3"), bytes[index + 1] == UInt8(ascii: "s"),
                    bytes[index + 2] == UInt8(ascii: "i"), bytes[index + 3] == UInt8(ascii: "g") {
                    namesSignature = true
                } else if bytes[index - 1] == UInt8(ascii: "1"), bytes[index + 1] == UInt8(ascii: "y"),
                    bytes[index + 2] == UInt8(ascii: "1"), bytes[index + 3] == UInt8(ascii: ":"), bytes[index + 4] == UInt8(ascii: "q") {
                    isQuery = true
                }
                if namesSignature && isQuery { return true }
                index += 1
            }
            return false
        }
    }

    /// Decodes every datagram and reaches libsodium's verdict for each signed store among them;
    /// runs on a worker. Anything else, malformed datagrams included, is left for the core to
    /// judge.
    static func check(_ datagrams: some Sequence<[UInt8]>) -> [PrecheckedDatagram] {
        datagrams.map(PrecheckedDatagram.init(checking:))
    }
}
