import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes to standard output and error: scripts read a node's `listening` line
/// while it keeps running, so nothing may sit in a buffer.
enum Console {
    static func out(_ text: String) { write(text + "\n", to: 1) }
    static func err(_ text: String) { write(text + "\n", to: 2) }
    /// Without a newline: progress lines overwrite themselves with `\r`.
    static func errInline(_ text: String) { write(text, to: 2) }

    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// Prints a value the way a person expects: a byte string as its text, anything else bencoded.
func render(_ value: BValue) -> String {
    if case .bytes(let bytes) = value { return String(decoding: bytes, as: UTF8.self) }
    return String(decoding: Bencode.encode(value), as: UTF8.self)
}

/// A progress line on stderr while an operation runs longer than a second, when stderr is a
/// terminal: in a log file or a pipe the redrawn line would only be noise.
enum Progress {
    static func `while`<T: Sendable>(_ label: String, _ body: @Sendable () async throws -> T) async throws -> T {
        guard isatty(STDERR_FILENO) == 1 else { return try await body() }
        // Returns whether it drew the line, so the line can be cleared afterwards.
        let ticker = Task { () -> Bool in
            var drawn = false
            var elapsed = 1
            while (try? await Task.sleep(for: .seconds(1))) != nil {
                Console.errInline("\r\(label)… \(elapsed) s")
                drawn = true
                elapsed += 1
            }
            return drawn
        }
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body())
        } catch {
            outcome = .failure(error)
        }
        ticker.cancel()
        // Erase the progress line, so the next output starts on a clean line.
        if await ticker.value { Console.errInline("\r\u{1B}[K") }
        return try outcome.get()
    }
}
