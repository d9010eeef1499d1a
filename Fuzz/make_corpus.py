#!/usr/bin/env python3
"""Writes the seed corpus of the datagram fuzzer: one well-formed example of every KRPC
message SubnetDHT handles (queries of BEP 5, 44 and our keyed records, responses, errors),
so that libFuzzer mutates from valid shapes instead of discovering bencode from scratch.
Signatures are random bytes: the harness puts a valid token in, and the validator then
exercises every rule up to the signature check.

    python3 Fuzz/make_corpus.py Fuzz/Corpus
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests"))
from pysupport.bencode import bencode  # noqa: E402


ID = bytes(range(20))
TARGET = bytes(range(20, 40))
KEY = bytes(range(32))
SIG = bytes(range(64))
COMPACT = bytes([127, 0, 0, 1, 0x1a, 0xe1])
NODES = b"".join(bytes([i] * 20) + COMPACT for i in range(3))
INFO = {"addr": COMPACT, "name": "fuzz", "role": "worker", "state": 1, "tput": 1500, "ver": "0.1.0"}


def query(name, args, **top):
    message = {"t": b"aa", "y": "q", "q": name, "a": dict(id=ID, **args)}
    message.update(top)
    return bencode(message)


SEEDS = {
    "ping": query("ping", {}),
    "ping-readonly-network": query("ping", {}, ro=1, n=7),
    "find_node": query("find_node", {"target": TARGET}),
    "find_node-want": query("find_node", {"target": TARGET, "want": ["n4", "n6"]}),
    "get_peers": query("get_peers", {"info_hash": TARGET}),
    "announce_peer": query("announce_peer", {"info_hash": TARGET, "port": 6881, "token": b"tokn", "implied_port": 1}),
    "get": query("get", {"target": TARGET, "seq": 3}),
    "put-mutable": query("put", {"token": b"tokn", "v": "hello", "k": KEY, "sig": SIG, "seq": 4, "cas": 3, "salt": b"s"}),
    "put-immutable": query("put", {"token": b"tokn", "v": ["a", 1, {"b": "c"}]}),
    "announce_record": query("announce_record", {"token": b"tokn", "key": "node", "k": KEY, "seq": 5,
                                                 "exp": 1_800_000_060, "v": INFO, "sig": SIG}),
    "announce_record-open-key": query("announce_record", {"token": b"tokn", "key": "jobs", "k": KEY, "seq": 1,
                                                          "exp": 1_800_000_030, "v": b"x" * 40, "sig": SIG}),
    "get_records": query("get_records", {"target": TARGET}),
    # What the harness's node holds: records under `node`, and a 900-byte immutable item.
    "get_records-node": query("get_records", {"target": hashlib.sha1(b"node").digest()}),
    "get-item": query("get", {"target": hashlib.sha1(bencode(b"i" * 900)).digest()}, pad=bytes(300)),
    "get-item-unpadded": query("get", {"target": hashlib.sha1(bencode(b"i" * 900)).digest()}),
    "get_records-after": query("get_records", {"target": TARGET, "after": KEY, "want": ["n4"]}, pad=bytes(200)),
    # Record feeds (docs/PROTOCOL.md 3.2): from nothing, from a cursor (the harness puts in one
    # of its node's own, so the changes path runs), and paged on from an owner.
    "get_record_changes": query("get_record_changes", {"target": hashlib.sha1(b"node").digest(), "since": b""}, pad=bytes(300)),
    "get_record_changes-cursor": query("get_record_changes", {"target": hashlib.sha1(b"node").digest(),
                                                             "since": bytes(range(16))}, pad=bytes(300)),
    "get_record_changes-after": query("get_record_changes", {"target": TARGET, "since": bytes(16), "after": KEY}),
    "response-changes": bencode({"t": b"aa", "y": "r", "r": {
        "id": ID, "ver": bytes(range(16)), "dn": 3, "dg": bytes(16), "gone": KEY + KEY, "full": 1,
        "records": [{"k": KEY, "seq": 5, "exp": 1_800_000_060, "v": INFO, "sig": SIG}], "more": KEY}}),
    "unknown-method": query("vote", {"target": TARGET}),
    "unknown-method-info-hash": query("sample_infohashes", {"info_hash": TARGET, "want": ["n4", "n6"]}),
    "response": bencode({"t": b"aa", "y": "r", "r": {"id": ID, "nodes": NODES, "token": b"tokn", "values": [COMPACT]},
                         "ip": COMPACT, "v": b"SD\x00\x01"}),
    "response-records": bencode({"t": b"aa", "y": "r", "r": {"id": ID, "records": [
        {"k": KEY, "seq": 5, "exp": 1_800_000_060, "v": INFO, "sig": SIG}], "more": KEY}}),
    "response-kr": bencode({"t": b"aa", "y": "r", "r": {"id": ID, "nodes": NODES, "token": b"tokn"}, "kr": 1,
                            "v": b"SD\x00\x01"}),
    "response-compressed": bencode({"t": b"aa", "y": "r", "r": {"id": ID, "rz": b"\x40abcd", "rn": 4}}),
    "error": bencode({"t": b"aa", "y": "e", "e": [203, "bad token"]}),
    "server-info": bencode(INFO),
    "record": bencode({"k": KEY, "seq": 5, "exp": 1_800_000_060, "v": INFO, "sig": SIG}),
}


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "Corpus")
    os.makedirs(folder, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(data)
    print("%d seeds in %s" % (len(SEEDS), folder))


if __name__ == "__main__":
    main()
