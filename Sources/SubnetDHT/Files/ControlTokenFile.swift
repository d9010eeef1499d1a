import SubnetDHTCore

/// Why the control API's token file cannot be used.
public struct ControlTokenError: Error, Equatable, CustomStringConvertible {
    public let description: String
}

/// The control API's bearer token on disk (`run --control-token FILE`): one line of visible
/// ASCII. A missing file is created with a random token (32 bytes as 64 hex digits) and mode
/// 0600; a file that group or others can read is refused, as anyone who reads it can steer
/// the node.
public enum ControlTokenFile {
    /// Shortest token accepted from a file an operator wrote: 16 characters.
    public static let minLength = 16
    private static let maxFileSize = 4096

    private static func file(_ path: String) -> SecretFile {
        SecretFile(path: path, kind: "control token file", holds: "the token that lets a client change this node",
                   maxSize: maxFileSize)
    }

    /// The token in `path`, made first when the file does not exist.
    public static func loadOrCreate(at path: String) throws(ControlTokenError) -> String {
        if !file(path).exists {
            var generator = SystemRandomNumberGenerator()
            let token = HexEncoding.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            do {
                try file(path).create(Array((token + "\n").utf8), overwrite: false)
                return token
            } catch .exists {
                // Another process made it between our check and our write: use theirs.
            } catch {
                throw Self.error(error)
            }
        }
        return try load(at: path)
    }

    /// The token in `path`, which must exist.
    public static func load(at path: String) throws(ControlTokenError) -> String {
        let content: [UInt8]
        do {
            content = try file(path).read()
        } catch {
            throw Self.error(error)
        }
        let token = String(decoding: content, as: UTF8.self).trimmingWhitespace
        guard token.count >= minLength, token.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw ControlTokenError(description: "control token file \(path): the token must be one line of at least \(minLength) "
                                    + "visible ASCII characters without spaces; delete the file to have a new one made")
        }
        return token
    }

    private static func error(_ failure: SecretFile.Failure) -> ControlTokenError {
        switch failure {
        case .fileSystem(let message), .refused(let message): ControlTokenError(description: message)
        case .exists: ControlTokenError(description: "control token file exists")
        }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and line ends.
    fileprivate var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
