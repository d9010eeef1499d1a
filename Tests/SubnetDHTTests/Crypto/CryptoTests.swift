import Testing

/// Parent suite of every crypto-layer test, so `swift test --filter CryptoTests` selects exactly
/// this folder's tests (Swift Testing filters on the qualified suite path).
@Suite enum CryptoTests {}
