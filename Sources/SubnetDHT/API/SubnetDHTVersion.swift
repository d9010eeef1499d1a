/// The software version peers publish in `ver`.
public enum SubnetDHTVersion {
    /// This library's version, the default `ver` of a ``SubnetPeer``'s heartbeat.
    public static let current = "0.1.0"
    /// docs/PROTOCOL.md's version; bumped only for incompatible changes.
    public static let protocolVersion = 1
}
