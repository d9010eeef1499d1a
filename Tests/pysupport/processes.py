"""Starting `subnet-dht run` processes and ending them, and byte conversion of libtorrent alert fields."""
import os
import select
import signal
import subprocess


def stop_all(processes, timeout=10):
    """SIGTERM to every process still running, then waits up to `timeout` s for each and
    kills the ones that did not exit: a test's teardown never hangs and leaves nothing behind."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_kib(pid):
    """The resident memory of process `pid` in KiB (VmRSS); raises when the process is gone."""
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def as_bytes(x):
    """Alert fields from std::string/std::array arrive as bytes or (salt) as str."""
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8", "surrogateescape")
    return bytes(x)


def start_run(binary, logs, index, name, timing, bootstrap=None, extra=(), processes=None):
    """Starts `subnet-dht run` on 127.0.0.1 (a free port) as node `index` named `name`, with
    heartbeat `timing` = (interval, ttl, prune) in seconds, its stderr in `logs`/node-INDEX.err.
    Waits (at most 30 s) for its first line, `listening ADDRESS ID KEY`, and returns
    (process, address, key); `processes` (a list) gets the process for `stop_all`."""
    interval, ttl, prune = timing
    command = [binary, "run", "--host", "127.0.0.1", "--port", "0", "--name", name,
               "--heartbeat-interval", str(interval), "--heartbeat-ttl", str(ttl), "--prune-interval", str(prune),
               "--log-level", "info", *extra]
    if bootstrap:
        command += ["--bootstrap", bootstrap]
    err = open(os.path.join(logs, "node-%d.err" % index), "a")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
    if processes is not None:
        processes.append(process)
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline().split() if ready else []
    if len(line) != 4 or line[0] != "listening":
        raise RuntimeError("node %d printed %r" % (index, line))
    return process, line[1], line[3]
