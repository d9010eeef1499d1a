"""Ending the processes a test script started, and byte conversion of libtorrent alert fields."""
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


def as_bytes(x):
    """Alert fields from std::string/std::array arrive as bytes or (salt) as str."""
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8", "surrogateescape")
    return bytes(x)
