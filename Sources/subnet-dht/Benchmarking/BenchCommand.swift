import ArgumentParser
import SubnetDHT

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure BEP 44 put and get latency against a running network.",
        discussion: """
            Joins through --bootstrap as a read-only client, stores PUTS mutable items (each under \
            a fresh key, ~200-byte values), then reads each back, one operation at a time. Prints \
            p50/p90/p99 latency in milliseconds and success rates.
            """)

    @Option(help: "Number of items to put and then get (bounded: 1 to 10,000).") var puts = 200
    @Option(help: "Value size in bytes.") var valueSize = 200
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        guard (1...10_000).contains(puts) else { throw ValidationError("--puts must be 1 to 10,000") }
        guard (1...990).contains(valueSize) else { throw ValidationError("--value-size must be 1 to 990") }
    }

    func run() async throws {
        let session = try await ClientSession.open(network)
        let clock = ContinuousClock()
        var putTimes = [Duration](), getTimes = [Duration]()
        var putOK = 0, getOK = 0
        var keys = [SigningKey]()
        let value = BValue.bytes(Array(repeating: UInt8(ascii: "x"), count: valueSize))
        for _ in 0..<puts {
            let key = SigningKey.generate()
            keys.append(key)
            let started = clock.now
            let stored = try await session.node.putMutable(value, key: key)
            putTimes.append(clock.now - started)
            if !stored.accepted.isEmpty { putOK += 1 }
        }
        for key in keys {
            let started = clock.now
            let item = try await session.node.getMutable(publicKey: key.publicKey)
            getTimes.append(clock.now - started)
            if item?.value == value { getOK += 1 }
        }
        await session.close()
        let put = LatencySummary(putTimes), get = LatencySummary(getTimes)
        if json {
            Console.out("""
                {"puts":\(puts),"put_ok":\(putOK),"get_ok":\(getOK),\
                "put_ms":\(put.json),"get_ms":\(get.json)}
                """)
        } else {
            Console.out("operation  count  ok     p50 ms  p90 ms  p99 ms")
            Console.out(put.row("put", count: puts, ok: putOK))
            Console.out(get.row("get", count: puts, ok: getOK))
        }
    }
}

/// Percentiles of a set of durations, in milliseconds.
struct LatencySummary {
    let p50: Double, p90: Double, p99: Double

    init(_ samples: [Duration]) {
        let sorted = samples.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }.sorted()
        func percentile(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
        }
        p50 = percentile(0.5)
        p90 = percentile(0.9)
        p99 = percentile(0.99)
    }

    var json: String { "{\"p50\":\(rounded(p50)),\"p90\":\(rounded(p90)),\"p99\":\(rounded(p99))}" }

    func row(_ name: String, count: Int, ok: Int) -> String {
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        return pad(name, 11) + pad("\(count)", 7) + pad("\(ok)", 7) + pad("\(rounded(p50))", 8) + pad("\(rounded(p90))", 8) + "\(rounded(p99))"
    }

    private func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}
