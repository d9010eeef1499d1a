import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

/// Every suite of the node's HTTP port (server, routes, health) nests here, so `swift test --filter HTTPTests` runs them all.
extension ServicesTests {
    @Suite enum HTTPTests {}
}

/// The short name the suites of this folder extend.
typealias HTTPTests = ServicesTests.HTTPTests

extension HTTPTests {
    /// The bound port of a server started by `run()` in another task, once it listens.
    static func waitForPort(of server: NodeHTTPServer, within timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = server.port { return port }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw HTTPTestConnection.Failure("the server did not start listening within \(timeout)")
    }
}
