"""The reporting convention of the test scripts: `ok NAME (figures)` or `FAIL NAME: reason`,
then `N passed, M failed`; a suite that cannot run; and bounded polling."""
import os
import time


class Checks:
    def __init__(self):
        self.results = []

    def check(self, name, condition, reason="", figures=""):
        self.results.append(bool(condition))
        if condition:
            print("ok %s%s" % (name, " (%s)" % figures if figures else ""), flush=True)
        else:
            print("FAIL %s: %s%s" % (name, reason, " (%s)" % figures if figures else ""), flush=True)

    def summary(self):
        """Prints the summary line; returns the exit status: 1 when anything failed, and when
        no check ran at all (a suite that checked nothing has not passed)."""
        passed = sum(1 for result in self.results if result)
        if not self.results:
            print("FAIL harness: no check ran", flush=True)
            print("0 passed, 1 failed", flush=True)
            return 1
        print("%d passed, %d failed" % (passed, len(self.results) - passed), flush=True)
        return 0 if passed == len(self.results) else 1


def cannot_run(reason, checks=1):
    """A suite that cannot run here. Under CI (the `CI` variable set, as `.ci/run` runs) that
    is a failure with the reason, so a suite never drops out of a green run unseen; elsewhere it
    is a loud skip. Returns the exit status."""
    if os.environ.get("CI"):
        print("FAIL harness: %s (CI is set: every suite must run)" % reason, flush=True)
        print("0 passed, 1 failed", flush=True)
        return 1
    print("skip: %s" % reason, flush=True)
    print("0 passed, 0 failed, %d skipped" % checks, flush=True)
    return 0


def wait_until(limit, probe, pause=0.25):
    """Calls probe() until it returns a true value or `limit` seconds pass. Returns
    (value, seconds from the start to the start of the successful probe), or (None, None)."""
    started = time.time()
    while time.time() - started < limit:
        probe_started = time.time()
        value = probe()
        if value:
            return value, probe_started - started
        time.sleep(pause)
    return None, None
