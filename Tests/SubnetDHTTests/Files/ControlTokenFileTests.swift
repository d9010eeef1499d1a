import Foundation
import Testing
@testable import SubnetDHT
@testable import SubnetDHTCore

extension FilesTests {
    @Suite struct ControlTokenFileTests {
        private func withTemporaryDirectory(_ body: (String) throws -> Void) throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("subnetdht-token-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try body(directory)
        }

        private func loadError(_ path: String) -> String? {
            do {
                _ = try ControlTokenFile.loadOrCreate(at: path)
                return nil
            } catch {
                return error.description
            }
        }

        @Test func aMissingFileIsMadeWithARandomTokenAndMode0600() throws {
            try withTemporaryDirectory { directory in
                let path = directory + "/etc/control-token"
                let token = try ControlTokenFile.loadOrCreate(at: path)
                #expect(token.count == 64 && HexEncoding.decode(token) != nil)
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                #expect(attributes[.posixPermissions] as? Int == 0o600)
                #expect(try String(contentsOfFile: path, encoding: .utf8) == token + "\n")
                #expect(try ControlTokenFile.loadOrCreate(at: path) == token)
                #expect(try ControlTokenFile.loadOrCreate(at: directory + "/other") != token)
            }
        }

        @Test func aFileOthersCanReadIsRefused() throws {
            try withTemporaryDirectory { directory in
                let path = directory + "/token"
                _ = try ControlTokenFile.loadOrCreate(at: path)
                for mode in [0o640, 0o604, 0o644] {
                    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
                    let error = try #require(loadError(path))
                    #expect(error.contains("accessible by group or others") && error.contains("chmod 600 \(path)"), "\(error)")
                }
            }
        }

        @Test func anOperatorsOwnTokenIsReadTrimmedAndAShortOneRefused() throws {
            try withTemporaryDirectory { directory in
                let path = directory + "/token"
                #expect(FileManager.default.createFile(atPath: path, contents: Data("  my-own-token-of-some-length \n".utf8),
                                                       attributes: [.posixPermissions: 0o600]))
                #expect(try ControlTokenFile.loadOrCreate(at: path) == "my-own-token-of-some-length")
                for text in ["short\n", "two words in a token file\n", ""] {
                    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
                    #expect(loadError(path)?.contains("at least 16 visible ASCII characters") == true, "\(text)")
                }
            }
        }
    }
}
