// Writes the request files the loopback load generator (`throughput/udp_load.c`) replays
// against a running `subnet-dht run --open-keys --rate-limit 0`:
//
//     LoadDatagrams --node 127.0.0.1:PORT --out DIR [--count N] [--keys K]
//
//   DIR/find_node.bin    N find_node queries for random targets
//   DIR/get_records.bin  N get_records queries for `bench-0` .. `bench-(K-1)`, in turn
//   DIR/announce.bin     N announce_record queries: N signed records of distinct owners
//                        spread over K keys (a key holds at most 10,000 owners), each
//                        carrying the write token the node issued to 127.0.0.1 for its key
//
// Each file is a sequence of datagrams, each preceded by its length (2 bytes, big-endian).
// Tokens are bound to the source IP, not the port, so the generator may send from any
// 127.0.0.1 port; they stay valid for 10 minutes.
import RecordFixtures
import SubnetDHT

#if canImport(Glibc)
import Glibc
#endif

struct Arguments {
    var node = Endpoint("127.0.0.1:6881")!
    var out = "."
    var count = 20_000
    var keys = 10

    init(_ words: [String]) {
        var index = 0
        func value() -> String {
            index += 1
            guard index < words.count else { fail("\(words[index - 1]) needs a value") }
            return words[index]
        }
        while index < words.count {
            switch words[index] {
            case "--node": node = Endpoint(value()) ?? { fail("--node must be HOST:PORT") }()
            case "--out": out = value()
            case "--count": count = Int(value()) ?? 0
            case "--keys": keys = Int(value()) ?? 0
            default: fail("unknown argument \(words[index])")
            }
            index += 1
        }
        guard (1...1_000_000).contains(count), (1...1_000).contains(keys), count <= keys * 10_000 else {
            fail("need 1 <= count <= 1,000,000, 1 <= keys <= 1,000 and count <= 10,000 x keys")
        }
    }
}

func fail(_ message: String) -> Never {
    print("LoadDatagrams: \(message)")
    exit(2)
}

/// One UDP socket on 127.0.0.1 that asks the node for write tokens.
struct TokenClient {
    let socket: Int32
    let node: Endpoint

    init(node: Endpoint) {
        self.node = node
        socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard socket >= 0 else { fail("socket: \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The token for `key`'s target, asked up to 5 times (loopback rarely drops, but may).
    /// Answers are matched by transaction id: the node also sends queries of its own (a ping
    /// of its new contact), and a resent query's second answer must not pass for the next key's.
    func token(forKey key: String, number: Int) -> [UInt8] {
        let transaction = [0x74, 0x6b] + transactionID(number)
        let query = KRPCCodec.encode(KRPCMessage(transactionID: transaction,
                                                 body: .query(Query(senderID: RecordFixtures.clientID,
                                                                    method: .getRecords(target: KeyedRecord.target(forKey: Array(key.utf8)),
                                                                                        after: nil, want: nil)))))
        guard case .v4(let address) = node.address else { fail("--node must be an IPv4 address") }
        var destination = sockaddr_in()
        destination.sin_family = sa_family_t(AF_INET)
        destination.sin_port = node.port.bigEndian
        destination.sin_addr.s_addr = address.bigEndian
        var buffer = [UInt8](repeating: 0, count: 2048)
        for _ in 0..<5 {
            _ = withUnsafePointer(to: &destination) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket, query, query.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            // Read until this query's answer or the timeout; anything else is skipped.
            while case let received = recv(socket, &buffer, buffer.count, 0), received > 0 {
                guard let message = try? KRPCCodec.decode(Array(buffer[..<received])), message.transactionID == transaction,
                    case .response(let body) = message.body, let token = body.token else { continue }
                return token
            }
        }
        fail("no token from \(node) for \(key) (is it running with --rate-limit 0?)")
    }
}

/// Appends datagrams length-prefixed to a buffer, written out in one go.
struct DatagramFile {
    var bytes: [UInt8] = []

    mutating func append(_ datagram: [UInt8]) {
        precondition(datagram.count <= 0xffff)
        bytes.append(UInt8(datagram.count >> 8))
        bytes.append(UInt8(datagram.count & 0xff))
        bytes += datagram
    }

    func write(to path: String) {
        guard let file = fopen(path, "wb") else { fail("cannot write \(path)") }
        defer { fclose(file) }
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { fail("short write to \(path)") }
    }
}

func transactionID(_ index: Int) -> [UInt8] {
    withUnsafeBytes(of: UInt32(truncatingIfNeeded: index).bigEndian) { Array($0) }
}

let arguments = Arguments(Array(CommandLine.arguments.dropFirst()))
let keys = (0..<arguments.keys).map { "bench-\($0)" }
let client = TokenClient(node: arguments.node)
let tokens = keys.indices.map { client.token(forKey: keys[$0], number: $0) }

var generator = SplitMix64(seed: 7)
var findNode = DatagramFile(), getRecords = DatagramFile(), announce = DatagramFile()
for index in 0..<arguments.count {
    findNode.append(KRPCCodec.encode(KRPCMessage(
        transactionID: transactionID(index),
        body: .query(Query(senderID: RecordFixtures.clientID, method: .findNode(target: .random(using: &generator), want: nil))))))
    let key = keys[index % keys.count]
    // Padded as SubnetDHT's own readers pad theirs: the node answers an unverified source
    // with at most 4x its query, and a full page needs the padding.
    getRecords.append(RecordFixtures.paddedQuery(.getRecords(target: KeyedRecord.target(forKey: Array(key.utf8)), after: nil, want: nil),
                                                 transactionID: transactionID(index)))
}
// Records expire an hour from now (the open-key limit), signed by fresh owners.
let expires = SystemClock.now().seconds + 3_000
for index in 0..<arguments.count {
    let keyIndex = index % keys.count
    let record = KeyedRecord.signed(key: Array(keys[keyIndex].utf8), value: RecordFixtures.serverInfo(index).bencoded, seq: 1,
                                    expires: expires, by: .generate())
    announce.append(RecordFixtures.announceDatagram(record, token: tokens[keyIndex], transactionID: transactionID(index)))
}
findNode.write(to: arguments.out + "/find_node.bin")
getRecords.write(to: arguments.out + "/get_records.bin")
announce.write(to: arguments.out + "/announce.bin")
print("wrote \(arguments.count) datagrams each to \(arguments.out)/{find_node,get_records,announce}.bin")
