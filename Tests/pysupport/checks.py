"""The reporting convention of the test scripts: `ok NAME (figures)` or `FAIL NAME: reason`,
then `N passed, M failed`; and bounded polling."""
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
        """Prints the summary line; returns the exit status (1 when anything failed)."""
        passed = sum(1 for result in self.results if result)
        print("%d passed, %d failed" % (passed, len(self.results) - passed), flush=True)
        return 0 if passed == len(self.results) else 1


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
