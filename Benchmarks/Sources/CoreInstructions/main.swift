// Answers one kind of request N times on a core without sockets, so that valgrind can count
// the instructions an answer takes: `core_instructions.sh` runs it for two values of N and
// divides the difference, which cancels the set-up. Instruction counts repeat from run to run
// on this shared machine, where CPU time per answer swings by 10 % or more.
//
//   CoreInstructions ping|find_node|get_records COUNT
import Foundation
import RecordFixtures
import SubnetDHT

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), count >= 0 else {
    FileHandle.standardError.write(Data("usage: CoreInstructions ping|find_node|get_records COUNT\n".utf8))
    exit(2)
}

// The core of the get_records micro-benchmark: 300 heartbeats under `node`, stored through
// announce_record, and 200 contacts in its routing table for the node lists.
var core = RecordFixtures.core(holding: RecordFixtures.heartbeats(300))
var generator = SplitMix64(seed: 42)
let contacts = (0..<200).map { index in
    (NodeID.random(using: &generator), Endpoint(address: .v4(0x0b00_0000 | UInt32(index)), port: 6881))
}
RecordFixtures.receivePings(from: contacts, into: &core)

let request: [UInt8]
switch arguments[1] {
case "ping":
    request = KRPCCodec.encode(KRPCMessage(transactionID: [0x70], body: .query(Query(senderID: RecordFixtures.clientID, method: .ping))))
case "find_node":
    request = KRPCCodec.encode(KRPCMessage(transactionID: [0x71], body: .query(Query(senderID: RecordFixtures.clientID,
                                                                                    method: .findNode(target: .random(using: &generator), want: nil)))))
case "get_records":
    request = RecordFixtures.getRecordsDatagram()
default:
    FileHandle.standardError.write(Data("unknown request \(arguments[1])\n".utf8))
    exit(2)
}
// The first answer also fills the page cache, as the first reader of a key does. It must be
// a response, not an error: a refused request is cheaper and would skew the count. The core
// holds the same state for every repeat, so the repeats are answered alike.
guard let first = RecordFixtures.exchange(request, with: &core), RecordFixtures.responseBody(first) != nil else {
    FileHandle.standardError.write(Data("no response to \(arguments[1])\n".utf8))
    exit(1)
}
var answered = 0
for _ in 0..<count {
    core.receive(request, from: RecordFixtures.client, now: RecordFixtures.now)
    // Only datagrams back to the client count: the core may also ping or emit events.
    for case .send(_, let destination) in core.takeEffects() where destination == RecordFixtures.client { answered += 1 }
}
guard answered == count else {
    FileHandle.standardError.write(Data("answered \(answered) of \(count)\n".utf8))
    exit(1)
}
