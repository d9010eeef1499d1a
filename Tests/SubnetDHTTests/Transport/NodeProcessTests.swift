import Foundation
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// A `subnet-dht run` child process, so a test can measure a node's memory apart from the
/// test runner's (whose other tests allocate concurrently).
final class NodeProcess {
    let process = Process()
    let endpoint: Endpoint
    let nodeID: NodeID

    /// The `subnet-dht` binary built beside the test bundle.
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("subnet-dht")
    }

    init(arguments: [String] = []) throws {
        let output = Pipe()
        process.executableURL = NodeProcess.binary
        process.arguments = ["run", "--host", "127.0.0.1", "--port", "0"] + arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line is `listening HOST:PORT NODE_ID PUBLIC_KEY`; read it byte by byte (bounded).
        var line = [UInt8]()
        let handle = output.fileHandleForReading
        while line.count < 512, let byte = try handle.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") { line.append(byte) }
        let fields = String(decoding: line, as: UTF8.self).split(separator: " ")
        guard fields.count == 4, fields[0] == "listening", let endpoint = Endpoint(String(fields[1])),
            let id = NodeID(hex: String(fields[2])) else {
            process.terminate()
            throw CLIStyleError("unexpected first line: \(String(decoding: line, as: UTF8.self))")
        }
        self.endpoint = endpoint
        nodeID = id
    }

    /// Resident memory in KiB, from /proc.
    var residentKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit; returns the exit status.
    func stop() -> Int32 {
        process.terminate()
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

extension TransportTests {
    @Suite struct NodeProcessTests {
        @Test func floodedNodeKeepsAnsweringWithBoundedMemory() throws {
            let node = try NodeProcess()
            let attacker = try RawUDPSocket()
            let ping = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".utf8)
            var generator = SplitMix64(seed: 12)
            func flood(rounds: Int) {
                for round in 0..<rounds {
                    attacker.send(Array(ping.dropLast(2)), to: node.endpoint)                        // truncated
                    attacker.send([UInt8](repeating: 0x6c, count: 2000), to: node.endpoint)         // oversized
                    attacker.send(Array((String(repeating: "l", count: 64) + String(repeating: "e", count: 64)).utf8), to: node.endpoint)
                    for _ in 0..<4 {
                        let random = (0..<Int.random(in: 1...1400, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                        attacker.send(random, to: node.endpoint)
                    }
                    if round % 20 == 19 { _ = attacker.drain() }
                }
            }
            // Warm up so that buffers and caches reach their working size, then measure a long flood.
            flood(rounds: 200)
            let before = node.residentKiB
            flood(rounds: 2000)
            _ = attacker.drain()
            let after = node.residentKiB
            // Another client asks: the attacker's own queries are rate-limited by design, and
            // its bucket stays empty while the node works through the flood's backlog. The
            // flood may still fill the node's receive buffer, where a single ping can be
            // dropped, and on a loaded machine the backlog goes slowly: the node must answer
            // one of the pings sent over 20 s (each waits out a 50 ms drain).
            let client = try RawUDPSocket()
            var pong: KRPCMessage?
            var pings = 0
            let deadline = ContinuousClock.now + .seconds(20)
            while pong == nil, ContinuousClock.now < deadline {
                client.send(ping, to: node.endpoint)
                pings += 1
                pong = client.drain().first { $0.transactionID == Array("aa".utf8) }
            }
            guard case .response(let body)? = pong?.body else {
                Issue.record("no pong to \(pings) pings over 20 s after the flood; the node \(node.process.isRunning ? "runs" : "exited")")
                _ = node.stop()
                return
            }
            #expect(body.id == node.nodeID)
            #expect(before > 0)
            // 14,000 hostile datagrams may not grow the node by more than 4 MiB.
            #expect(after - before < 4096, "resident memory went from \(before) KiB to \(after) KiB")
            #expect(node.stop() == 0)
        }
    }
}
