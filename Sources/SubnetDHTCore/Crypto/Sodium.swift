import CSodium

/// One-time libsodium initialisation. `sodium_init` must run before any other libsodium call
/// (it picks CPU-specific implementations and seeds `randombytes`); a `static let` gives us
/// Swift's thread-safe lazy once-semantics, so concurrent first callers cannot race it.
package enum Sodium {
    private static let initialized: Bool = sodium_init() >= 0

    /// Call before every libsodium use. Failure means the library cannot work on this
    /// machine at all (no entropy source), which no caller could recover from.
    package static func ensureInitialized() {
        precondition(initialized, "libsodium failed to initialise (sodium_init returned -1)")
    }
}
