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

    enum ReadOutcome {
        case contents([UInt8])
        /// The file holds more than the limit allowed (it may have grown while being read).
        case tooLarge
        /// `read` failed; `errno` says why.
        case failed
    }

    /// Reads `fd` to its end, refusing to hold more than `limit` bytes.
    static func readAll(_ fd: Int32, limit: Int, chunkSize: Int = 65_536) -> ReadOutcome {
        var content = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                return .failed
            }
            if count == 0 { return .contents(content) }
            content += buffer[0..<count]
            if content.count > limit { return .tooLarge }
        }
    }

    static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
