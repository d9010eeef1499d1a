#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import SubnetDHT

extension TransportTests {
    @Suite struct SystemdNotifierTests {
        @Test func theEnvironmentSaysWhereAndHowOften() {
            #expect(SystemdNotifier(environment: [:]) == nil)
            #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]) == nil)
            let plain = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/systemd/notify"])
            #expect(plain?.socketName == "/run/systemd/notify" && plain?.watchdogTimeout == nil)
            let watched = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"])
            #expect(watched?.watchdogTimeout == .seconds(30))
            // A watchdog meant for another process (a parent that forked us) is not ours.
            #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"])?.watchdogTimeout == nil)
            #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "soon"])?.watchdogTimeout == nil)
        }

        @Test func aMessageIsOneDatagramOnAnAbstractSocket() throws {
            let name = "subnet-dht-test-\(getpid())-\(UInt32.random(in: 0 ... .max))"
            let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            #expect(receiver >= 0)
            defer { close(receiver) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = [UInt8(0)] + Array(name.utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { for (index, byte) in bytes.enumerated() { $0[index] = byte } }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)) }
            }
            #expect(bound == 0)
            let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name]))
            try notifier.notify(["READY=1", "STATUS=online: 3 live peers, 5 in the routing table"])
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = recv(receiver, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            #expect(count > 0)
            #expect(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self) == "READY=1\nSTATUS=online: 3 live peers, 5 in the routing table")
            // Nobody listening: a clear error, not a crash.
            #expect(throws: SystemdNotifier.Failure.self) {
                try SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/notify"])!.notify(["WATCHDOG=1"])
            }
        }
    }
}
