import ArgumentParser
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

struct Keygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an identity file (ed25519 seed, mode 0600) and print its public key.")

    @Option(help: "Where to write the identity.") var out: String
    @Flag(help: "Overwrite an existing file.") var force = false

    func run() async throws {
        let key = SigningKey.generate()
        try IdentityFile.create(at: out, key: key, overwrite: force)
        Console.out(key.publicKey.hex)
    }
}
