#!/usr/bin/env python3
"""Does `subnet-dht run` work under MemoryDenyWriteExecute? Measured, not guessed.

systemd's `MemoryDenyWriteExecute=yes` refuses memory that is writable and executable at
once, or becomes executable after being writable; on kernels with PR_SET_MDWE (6.3 and later)
it is that prctl, which this test sets itself before exec (the flag is inherited). Two nodes
run under it on 127.0.0.1 with everything a production node does: heartbeats, a join, the
status page, metrics, the control API and its event stream, a snapshot, a graceful stop.
A runtime that needed to write code at run time would fail here. Prints `ok NAME` /
`FAIL NAME: reason` and `N passed, M failed`; where the kernel lacks PR_SET_MDWE it prints
`skip:` (a failure under CI).

    python3 Tests/Process/memory_deny_write_execute.py --subnet-dht .build/debug/subnet-dht
"""
import ctypes
import json
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from pysupport.checks import cannot_run, wait_until  # noqa: E402
from pysupport.harness import run_suite  # noqa: E402
from pysupport.localnet import free_tcp_port, http_get  # noqa: E402
from subnet_dht import Client  # noqa: E402

PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1
LIBC = ctypes.CDLL(None, use_errno=True)


def deny_write_execute():
    """In the child, before exec: what MemoryDenyWriteExecute=yes asks of the kernel."""
    if LIBC.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_MDWE")


def kernel_has_mdwe():
    probe = subprocess.run([sys.executable, "-c", "import ctypes; l=ctypes.CDLL(None); print(l.prctl(%d, 0, 0, 0, 0))" % PR_GET_MDWE],
                           capture_output=True, text=True, timeout=30)
    return probe.stdout.strip() in ("0", "1")


def suite(binary, logs, check, processes):
    def start(name, extra):
        command = [binary, "run", "--host", "127.0.0.1", "--port", "0", "--name", name, "--heartbeat-interval", "1",
                   "--heartbeat-ttl", "4", "--prune-interval", "1", *extra]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=open(os.path.join(logs, name + ".err"), "w"),
                                   text=True, preexec_fn=deny_write_execute)
        processes.append(process)
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline().split() if ready else []
        if len(line) != 4:
            raise RuntimeError("%s printed %r (exit %s)" % (name, line, process.poll()))
        return process, line[1], line[3]

    # The control: under the same prctl, a program that maps memory writable and executable
    # at once is refused, so the restriction is in force where the nodes run.
    control = subprocess.run([sys.executable, "-c", "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)"],
                             capture_output=True, text=True, timeout=30, preexec_fn=deny_write_execute)
    enforced = control.returncode != 0 and "PermissionError" in control.stderr
    seed, seed_address, _ = start("seed", ())
    http = free_tcp_port()
    token = os.path.join(logs, "control-token")
    member, _, member_key = start("member", ("--bootstrap", seed_address, "--http-port", str(http), "--control-token", token,
                                             "--state-dir", os.path.join(logs, "state")))
    client = Client(http, token_file=token)
    events = client.events(reconnect=False)
    reset = next(events)
    changed = client.update(tput=3.5, info={"stake": 1})
    listed, _ = wait_until(20, lambda: [row for row in client.peers() if row["owner"] == member_key and row["tput"] == 3500])
    page_status, page = http_get(http, "/")
    metrics_status, _ = http_get(http, "/metrics")
    health_status, health = http_get(http, "/health")
    member.terminate()
    code = member.wait(timeout=30)
    snapshot = os.path.exists(os.path.join(logs, "state"))
    check("runs-under-memory-deny-write-execute",
                 enforced and reset.name == "reset" and changed["tput"] == 3500 and listed and page_status == 200
                 and metrics_status == 200 and health_status == 200 and json.loads(health)["state"] == "online" and code == 0
                 and seed.poll() is None and snapshot,
                 "W+X mapping refused under the prctl: %s; reset %s; update %s; listed %s; page %s metrics %s health %s %r; exit %s; seed alive %s; snapshot %s"
                 % (enforced, reset.name, changed, bool(listed), page_status, metrics_status, health_status, health, code, seed.poll() is None, snapshot),
                 "both nodes under PR_SET_MDWE: join, heartbeats, page, metrics, /health online, PUT /self, /events, snapshot, exit 0")


def main():
    if not kernel_has_mdwe():
        return cannot_run("this kernel has no PR_SET_MDWE (Linux 6.3 or later)", checks=1)
    return run_suite("mdwe.", suite)


if __name__ == "__main__":
    sys.exit(main())
