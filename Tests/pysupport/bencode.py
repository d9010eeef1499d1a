"""Bencode encoding (BEP 3) for test scripts that build raw KRPC datagrams."""


def bencode(value):
    """Encodes int, str/bytes, list and dict (keys sorted, as bencode requires)."""
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError("cannot bencode %r" % (value,))


def query(transaction, name, **arguments):
    """A KRPC query datagram."""
    return bencode({"t": transaction, "y": "q", "q": name, "a": arguments})
