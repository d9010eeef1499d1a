/// Why a ``DHTNode`` call failed on the node's side rather than the network's.
public enum DHTNodeError: Error, CustomStringConvertible, Equatable {
    /// The node was shut down before or while the operation ran.
    case shutDown
    /// The UDP socket could not be bound; the text names the address and the system's error.
    case bindFailed(String)
    /// A text address was not `HOST:PORT`.
    case invalidAddress(String)
    /// An operation finished with a result of another kind than it started (a bug, not a
    /// network condition).
    case unexpectedResult

    /// The error as one line of text, for logs and the command line.
    public var description: String {
        switch self {
        case .shutDown: "the node has shut down"
        case .bindFailed(let reason): "could not bind the UDP socket: \(reason)"
        case .invalidAddress(let text): "not a HOST:PORT address: \(text)"
        case .unexpectedResult: "internal error: operation returned an unexpected result kind"
        }
    }
}
