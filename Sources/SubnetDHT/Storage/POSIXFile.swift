#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The raw file calls the identity file and the snapshot share: writing a whole buffer
/// despite short writes and EINTR, and naming the last error.
enum POSIXFile {
    /// Writes all of `contents` to `fd`; false (with `errno` set) on failure.
    static func writeAll(_ fd: Int32, _ contents: [UInt8]) -> Bool {
        var written = 0
        while written < contents.count {
            let count = contents[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return false
            }
            written += count
        }
        return true
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
