// libFuzzer entry point: every input is one datagram from a stranger. `DatagramHarness`
// (in SubnetDHT, reached through @testable import, which debug builds allow) does the work
// and stops the process on any violated property.
import CFuzzerDriver
@testable import SubnetDHT

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDatagram(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    DatagramHarness.exercise(Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}

/// SwiftPM links an executable's entry point as `<Target>_main` and aliases `main` to it,
/// so libFuzzer's own `main` stays out and this one starts its driver.
@_cdecl("FuzzDatagram_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzDatagram(data, size) }
}
