import ArgumentParser
@testable import subnet_dht

/// Parses `arguments` as the tool's command line, the way `subnet-dht` does before it runs a
/// command (subcommand chosen, options read, `validate()` called).
func parse(_ arguments: [String]) throws -> any ParsableCommand {
    try SubnetDHTCommand.parseAsRoot(arguments)
}

/// Parses `arguments` as `C`, failing the test when the command line picks another command.
func parse<C: ParsableCommand>(_ arguments: [String], as _: C.Type) throws -> C {
    guard let command = try parse(arguments) as? C else { throw UnexpectedCommand(arguments: arguments) }
    return command
}

/// How the tool refuses a command line: the message it prints and the exit status, or nil
/// when the line parses.
func refusal(_ arguments: [String]) -> (message: String, status: Int32)? {
    do {
        _ = try parse(arguments)
        return nil
    } catch {
        return (SubnetDHTCommand.message(for: error), SubnetDHTCommand.exitCode(for: error).rawValue)
    }
}

struct UnexpectedCommand: Error {
    let arguments: [String]
}

/// The status ArgumentParser gives a command line it refuses (BSD's EX_USAGE).
let usageStatus: Int32 = 64
