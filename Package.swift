// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "SubnetDHT",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SubnetDHT", targets: ["SubnetDHT"]),
        // The sans-IO core alone, for what needs no sockets (the fuzzer, simulations).
        .library(name: "SubnetDHTCore", targets: ["SubnetDHTCore"]),
        .executable(name: "subnet-dht", targets: ["subnet-dht"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // The node's HTTP port: routes, request bodies, auth and the event stream.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // `run --config FILE` and SUBNET_DHT_* variables: the file and environment layers.
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["JSON", "YAML"]),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // `swift package generate-documentation` (DocC); the library's products do not use it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        // The sans-IO core: wire, crypto, routing, storage, records, the DHT state machine and
        // the subnet logic that runs inside it. It reads no clock, socket or global, and its
        // dependencies name no NIO, HTTP, Prometheus or ServiceLifecycle product.
        .target(
            name: "SubnetDHTCore",
            dependencies: [
                "CSodium",
                "CLZ4",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Collections", package: "swift-collections"),
            ]
        ),
        // The shell on top: UDP and in-memory transports, `DHTNode`, files, services and HTTP.
        // It re-exports the core, so users `import SubnetDHT` alone.
        .target(
            name: "SubnetDHT",
            dependencies: [
                "SubnetDHTCore",
                "CSodium",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "subnet-dht",
            dependencies: [
                "SubnetDHT",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["BuildCommit"]
        ),
        // Writes the commit being built into the tool, for `subnet-dht --version`.
        .plugin(name: "BuildCommit", capability: .buildTool()),
        .testTarget(
            name: "SubnetDHTTests",
            dependencies: ["SubnetDHT", "SubnetDHTCore"]
        ),
        // The command-line tool's parsing, validation and output, tested on its own types.
        .testTarget(
            name: "SubnetDHTCLITests",
            dependencies: [
                "subnet-dht",
                "SubnetDHT",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
