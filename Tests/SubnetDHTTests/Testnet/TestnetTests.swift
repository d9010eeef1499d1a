import Testing

/// Parent suite of every test in this folder, so `swift test --filter TestnetTests` selects
/// exactly this folder's tests (Swift Testing filters on the qualified suite path).
@Suite enum TestnetTests {}
