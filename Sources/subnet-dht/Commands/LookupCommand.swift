import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

struct Lookup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Find the nodes closest to a target and print them with the number of rounds.")

    @Argument(help: "Target, 40 hex digits.") var target: String
    @OptionGroup var network: NetworkOptions

    func validate() throws {
        if NodeID(hex: target) == nil { throw ValidationError("TARGET_HEX must be 40 hex digits") }
    }

    func run() async throws {
        guard let id = NodeID(hex: target) else { throw ValidationError("TARGET_HEX must be 40 hex digits") }
        let session = try await ClientSession.open(network)
        let result = try await session.node.findNode(id)
        await session.close()
        for node in result.closest {
            Console.out("\(node.id.hex) \(node.endpoint) distance-bits \(160 - node.id.distance(to: id).leadingZeroBitCount)")
        }
        Console.out("rounds \(result.rounds) messages \(result.messagesSent) responses \(result.responses)")
    }
}
