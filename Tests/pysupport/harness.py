"""The frame the process tests share: the `--subnet-dht` argument, a logs directory, the checks,
and a teardown that always stops every process and prints the summary."""
import argparse
import os
import tempfile

from pysupport.checks import Checks
from pysupport.processes import stop_all


def run_suite(logs_prefix, suite):
    """Runs `suite(binary, logs, check, processes)`: `check` records one result, `processes` is
    the list every started process goes into. An exception is a failed `harness` check (the
    summary line must still be printed); every process is stopped at the end. Returns the exit
    status."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--subnet-dht", default=os.environ.get("SUBNET_DHT_BIN", ".build/debug/subnet-dht"))
    args = parser.parse_args()
    binary = os.path.abspath(args.subnet_dht)
    logs = tempfile.mkdtemp(prefix=logs_prefix)
    print("logs in %s" % logs, flush=True)
    checks = Checks()
    processes = []
    try:
        suite(binary, logs, checks.check, processes)
    except Exception as error:
        checks.check("harness", False, repr(error))
    finally:
        stop_all(processes)
    return checks.summary()
