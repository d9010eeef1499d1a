import ArgumentParser
import SubnetDHT

/// `subnet-dht update`: `PUT /self` on a running local node, from the command line.
struct Update: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change what a running local node's heartbeat says, and publish it at once (PUT /self).",
        discussion: """
            Prints the node's new row as JSON. Fields not given stay as they are. The node must run with \
            --http-port and --control-token; --token-file is that token file.
            """)

    @Option(help: "The node's --http-port.") var httpPort: Int
    @Option(help: "The node's --http-host.") var httpHost = "127.0.0.1"
    @Option(help: "The node's --control-token file.") var tokenFile: String?
    @Option(help: "The heartbeat's role; the node's policy decides which roles are allowed.") var role: String?
    @Option(help: "The heartbeat's public name (at most 64 bytes); an empty one removes it.") var name: String?
    @Option(help: "Throughput in requests per second, e.g. 12.5.") var tput: Double?
    @Option(help: "online, or offline: an application that stops serving stays in the subnet, heartbeating OFFLINE.")
    var state: String?
    @Option(name: .customLong("info"),
            help: ArgumentHelp("A subnet field merged into the heartbeat's info; VALUE is read as JSON when it parses, as a string otherwise, and null removes the field (repeatable).",
                               valueName: "key=value"))
    var info: [String] = []

    func validate() throws {
        guard (1...65535).contains(httpPort) else { throw ValidationError("--http-port must be 1 to 65535") }
        guard IPAddress(httpHost) != nil else { throw ValidationError("--http-host must be an IP address, got '\(httpHost)'") }
        guard role != nil || name != nil || tput != nil || state != nil || !info.isEmpty else {
            throw ValidationError("nothing to change: give --role, --name, --tput, --state or --info")
        }
        try change().check()
    }

    /// What the flags ask for.
    func change() throws -> SelfUpdate {
        var change = SelfUpdate(role: role, throughput: tput)
        if let name { change.name = .some(name.isEmpty ? nil : name) }
        switch state {
        case nil: break
        case "online": change.state = .online
        case "offline": change.state = .offline
        case let other?: throw ValidationError("--state must be online or offline, got '\(other)'")
        }
        for pair in info {
            let (key, value) = try HeartbeatInfoOptions.field(pair)
            change.info[key] = value
        }
        return change
    }

    /// The JSON body of `PUT /self`.
    func body() throws -> String {
        let change = try change()
        var fields: [String: JSONValue] = [:]
        if let role = change.role { fields["role"] = .string(role) }
        if let name = change.name { fields["name"] = name.map(JSONValue.string) ?? .null }
        if let tput = change.throughput { fields["tput"] = .number(tput) }
        if let state = change.state { fields["state"] = .string(state.label) }
        if !change.info.isEmpty { fields["info"] = .object(change.info) }
        return JSONValue.object(fields).jsonText
    }

    func run() async throws {
        var headers = [("Content-Type", "application/json")]
        if let tokenFile {
            let token: String
            do {
                token = try ControlTokenFile.load(at: tokenFile)
            } catch {
                throw ValidationError("--token-file \(error)")
            }
            headers.append(("Authorization", "Bearer \(token)"))
        }
        let request = LocalHTTPRequest(host: httpHost, port: httpPort, method: .PUT, path: "/self", headers: headers,
                                       body: Array(try body().utf8))
        let answer: LocalHTTPRequest.Answer
        do {
            answer = try await request.send()
        } catch {
            Console.err("no answer from a node at \(httpHost):\(httpPort) (is it running with --http-port \(httpPort)?): \(error)")
            throw ExitCode(1)
        }
        guard answer.status == 200 else {
            var message = answer.body
            if case .object(let fields)? = try? JSONValue(parsing: Array(answer.body.utf8)), case .string(let error)? = fields["error"] {
                message = error
                if case .integer(let code)? = fields["code"] { message += " (code \(code))" }
            }
            Console.err("the node refused the change (HTTP \(answer.status)): \(message)")
            throw ExitCode(1)
        }
        Console.out(answer.body.hasSuffix("\n") ? String(answer.body.dropLast()) : answer.body)
    }
}
