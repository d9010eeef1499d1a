// swift-tools-version:6.1
// The libFuzzer target for SubnetDHT's datagram handling, kept out of the root package:
// it must be built with `-sanitize=fuzzer` for every module (so SubnetDHT's own code is
// instrumented), which only `Fuzz/run.sh` passes. See Fuzz/README.md.
import PackageDescription

let package = Package(
    name: "SubnetDHTFuzz",
    dependencies: [
        .package(name: "SubnetDHT", path: ".."),
    ],
    targets: [
        .target(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .executableTarget(
            name: "FuzzDatagram",
            dependencies: ["CFuzzerDriver", .product(name: "SubnetDHTCore", package: "SubnetDHT")],
            path: "Sources/FuzzDatagram"
        ),
    ]
)
