// swift-tools-version:6.1
// Benchmarks for SubnetDHT, kept out of the root package so that its build and CI carry
// neither package-benchmark nor a second release build. Run from this directory:
//   swift package --disable-sandbox benchmark
//   swift run -c release RecordMemory
import PackageDescription

let package = Package(
    name: "SubnetDHTBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "SubnetDHT", path: ".."),
        // package-benchmark, under the repository's new name: 1.38.1 warns that the legacy
        // identifier `package-benchmark` will stop being supported. This toolchain resolves it
        // only with the trait list spelled out (the default traits also pull in
        // swift-runtime-interposer, which has no local copy here).
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Signed heartbeat records, `announce_record` / `get_records` datagrams and a core
        // to send them to, through the public API only.
        .target(
            name: "RecordFixtures",
            dependencies: [.product(name: "SubnetDHT", package: "SubnetDHT")],
            path: "Sources/RecordFixtures"
        ),
        .executableTarget(
            name: "RecordBenchmarks",
            dependencies: [
                "RecordFixtures",
                .product(name: "SubnetDHT", package: "SubnetDHT"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/RecordBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The wire, the routing table and whole requests through the core (no sockets).
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                "RecordFixtures",
                .product(name: "SubnetDHT", package: "SubnetDHT"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Writes the datagram files the loopback load generator replays (find_node,
        // get_records, and signed announce_record with a token fetched from the node).
        .executableTarget(
            name: "LoadDatagrams",
            dependencies: [
                "RecordFixtures",
                .product(name: "SubnetDHT", package: "SubnetDHT"),
            ],
            path: "Sources/LoadDatagrams"
        ),
        // mallinfo2() for RecordMemory: <malloc.h> is not part of the Glibc module.
        .target(name: "CHeapInfo", path: "Sources/CHeapInfo"),
        // Plain executable: verify and validate+store rates with ContinuousClock, and the
        // resident memory one stored record costs.
        .executableTarget(
            name: "RecordMemory",
            dependencies: [
                "CHeapInfo",
                "RecordFixtures",
                .product(name: "SubnetDHT", package: "SubnetDHT"),
            ],
            path: "Sources/RecordMemory"
        ),
        // One kind of request answered N times by a core without sockets, for valgrind to
        // count instructions per answer (core_instructions.sh).
        .executableTarget(
            name: "CoreInstructions",
            dependencies: [
                "RecordFixtures",
                .product(name: "SubnetDHT", package: "SubnetDHT"),
            ],
            path: "Sources/CoreInstructions"
        ),
        // Thousands of cores on a simulated network with a virtual clock: lookup rounds,
        // messages and success against N, with dead nodes, and the heartbeat load on `node`.
        .executableTarget(
            name: "ScaleSimulation",
            dependencies: [.product(name: "SubnetDHT", package: "SubnetDHT")],
            path: "Sources/ScaleSimulation"
        ),
    ]
)
