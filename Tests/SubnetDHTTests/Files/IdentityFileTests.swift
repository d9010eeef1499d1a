import Foundation
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension FilesTests {
    @Suite struct IdentityFileTests {
        /// A fresh directory per test, removed afterwards.
        private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("subnetdht-identity-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try body(directory)
        }

        private func permissions(_ path: String) throws -> Int {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return try #require(attributes[.posixPermissions] as? Int)
        }

        /// The operator-facing message `load` fails with, or nil if it succeeds.
        private func loadError(at path: String) -> String? {
            do {
                _ = try IdentityFile.load(at: path)
                return nil
            } catch {
                return error.description
            }
        }

        @Test func createsWithMode0600AndReloadsSameKey() throws {
            try withTemporaryDirectory { directory in
                let path = directory + "/nested/dir/identity.key"
                let key = try IdentityFile.loadOrCreate(at: path)
                #expect(try permissions(path) == 0o600)
                let text = try String(contentsOfFile: path, encoding: .utf8)
                #expect(text == HexEncoding.encode(key.seed) + "\n")
                #expect(text.count == 65)
                #expect(try IdentityFile.load(at: path).publicKey == key.publicKey)
                #expect(try IdentityFile.loadOrCreate(at: path).publicKey == key.publicKey)
                let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/nested/dir")
                #expect(leftovers == ["identity.key"], "no temporary files left behind")
            }
        }

        @Test func createRespectsOverwriteFlag() throws {
            try withTemporaryDirectory { directory in
                let path = directory + "/identity.key"
                let first = SigningKey.generate()
                try IdentityFile.create(at: path, key: first, overwrite: false)
                #expect(throws: CryptoError.fileExists(path)) {
                    try IdentityFile.create(at: path, key: SigningKey.generate(), overwrite: false)
                }
                #expect(try IdentityFile.load(at: path).publicKey == first.publicKey)

                let second = SigningKey.generate()
                try IdentityFile.create(at: path, key: second, overwrite: true)
                #expect(try IdentityFile.load(at: path).publicKey == second.publicKey)
                #expect(try permissions(path) == 0o600)
            }
        }

        @Test func refusesCorruptFilesAndNeverRewritesThem() throws {
            let corruptContents = [
                "",
                "abc\n",
                String(repeating: "zz", count: 32) + "\n",
                String(repeating: "ab", count: 33) + "\n",
                String(repeating: "ab", count: 32) + "\n\n",
            ]
            try withTemporaryDirectory { directory in
                for (index, contents) in corruptContents.enumerated() {
                    let path = directory + "/corrupt-\(index).key"
                    #expect(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600]))
                    let message = try #require(loadError(at: path), "\(contents.debugDescription)")
                    #expect(message.contains(path))
                    #expect(message.contains("corrupt"))
                    #expect(throws: CryptoError.self) { try IdentityFile.loadOrCreate(at: path) }
                    #expect(try String(contentsOfFile: path, encoding: .utf8) == contents, "loadOrCreate must not rewrite")
                }
            }
        }

        @Test func acceptsSeedWithoutTrailingNewline() throws {
            try withTemporaryDirectory { directory in
                let path = directory + "/identity.key"
                let key = SigningKey.generate()
                #expect(FileManager.default.createFile(
                    atPath: path, contents: Data(HexEncoding.encode(key.seed).utf8), attributes: [.posixPermissions: 0o600]))
                let loaded = try IdentityFile.load(at: path)
                #expect(loaded.publicKey == key.publicKey)
            }
        }

        @Test(arguments: [0o644, 0o640, 0o604, 0o660, 0o606])
        func refusesFilesOpenToOthers(mode: Int) throws {
            try withTemporaryDirectory { directory in
                let path = directory + "/identity.key"
                let key = SigningKey.generate()
                try IdentityFile.create(at: path, key: key, overwrite: false)
                try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
                let message = try #require(loadError(at: path))
                #expect(message.contains(path))
                #expect(message.contains("chmod 600"))
                #expect(throws: CryptoError.self) { try IdentityFile.loadOrCreate(at: path) }
                #expect(try permissions(path) == mode, "loadOrCreate must not touch the file")

                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
                #expect(try IdentityFile.load(at: path).publicKey == key.publicKey)
            }
        }

        @Test func missingFileIsAFileSystemError() throws {
            try withTemporaryDirectory { directory in
                let path = directory + "/absent.key"
                let message = try #require(loadError(at: path))
                #expect(message.contains(path))
                #expect(!FileManager.default.fileExists(atPath: path))
            }
        }

        @Test func refusesDirectories() throws {
            try withTemporaryDirectory { directory in
                let path = directory + "/dir.key"
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
                #expect(throws: CryptoError.self) { try IdentityFile.load(at: path) }
            }
        }
    }
}
