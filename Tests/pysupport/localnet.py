"""Loopback helpers of the process tests: free ports, HTTP GETs and Prometheus samples."""
import socket
import urllib.error
import urllib.request


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 free at the time of the call (TCP by default, SOCK_DGRAM for UDP).
    A UDP port found this way and left unbound is where a test sends what nobody answers."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_tcp_port():
    return free_port(socket.SOCK_STREAM)


def http_get(port, path):
    """(status, body) of GET http://127.0.0.1:PORT/PATH; (None, reason) when nothing answered."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return None, str(error)


def metric(body, name, labels=""):
    """The value of the sample `name{labels}` in a Prometheus text body (labels as written, e.g.
    'result="ok"'), or None when the body has no such sample."""
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series == name or (labels and series.startswith(name + "{") and labels in series):
            return float(value)
    return None
