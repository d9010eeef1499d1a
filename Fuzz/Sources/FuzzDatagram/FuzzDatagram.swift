// libFuzzer entry point: every input is one datagram from a stranger. `DatagramHarness`
// (in SubnetDHTCore: the fuzzer builds no sockets or HTTP) does the work and stops the process on any
// violated property.
import CFuzzerDriver
#if canImport(Glibc)
import Glibc  // atexit
#endif
import SubnetDHTCore

/// What the node sent back over the whole run; libFuzzer calls inputs on one thread.
nonisolated(unsafe) var coverage = DatagramHarness.Coverage()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDatagram(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    coverage = coverage + DatagramHarness.exercise(Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}

/// One line at exit, which `run.sh` prints: evidence that inputs reached the answers that
/// carry data, not only the parsers.
func printCoverage() {
    print("data paths: \(coverage.answers) answers, \(coverage.answersWithRecords) with records, "
          + "\(coverage.answersWithItems) with a BEP 44 item, \(coverage.errors) errors, "
          + "\(coverage.ownQueries) queries of the node's own to the stranger")
}

/// SwiftPM links an executable's entry point as `<Target>_main` and aliases `main` to it,
/// so libFuzzer's own `main` stays out and this one starts its driver.
@_cdecl("FuzzDatagram_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    atexit { printCoverage() }
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzDatagram(data, size) }
}
