"""The Python client against real `subnet-dht run` processes on 127.0.0.1.

    SUBNET_DHT=.build/debug/subnet-dht python3 -m unittest discover -s clients/python/tests -v

Two nodes: a seed (open keys, no token) and a member started with a control token and
`--info stake=5`, heartbeating every second. The README's test command runs this.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(HERE, "..")
REPOSITORY = os.path.join(PACKAGE, "..", "..")
sys.path.insert(0, PACKAGE)

from subnet_dht import (Client, Event, BadRequest, NotFound, NodeUnreachable, Refused,  # noqa: E402
                        Unauthorized, Unavailable)

BINARY = os.environ.get("SUBNET_DHT", os.path.join(REPOSITORY, ".build", "debug", "subnet-dht"))
FAST = ["--heartbeat-interval", "1", "--heartbeat-ttl", "4", "--open-keys"]


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def eventually(check, within=20.0, every=0.2):
    """The first truthy value of `check()` within `within` seconds, else None."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    return None


class Node:
    """One `subnet-dht run` process, stopped with SIGTERM (or SIGKILL when stuck)."""

    def __init__(self, *flags):
        self.http_port = free_port()
        self.process = subprocess.Popen([BINARY, "run", "--port", "0", "--http-port", str(self.http_port), *flags],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline().split()
        if not line or line[0] != "listening":
            self.process.kill()
            raise RuntimeError("subnet-dht run did not start: %r" % line)
        self.endpoint, self.public_key = line[1], line[3]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()


class ClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="subnet-dht-client-")
        cls.token_file = os.path.join(cls.directory, "control-token")
        cls.seed = Node(*FAST, "--role", "validator", "--name", "seed")
        cls.member = Node(*FAST, "--bootstrap", cls.seed.endpoint, "--role", "miner", "--info", "stake=5",
                          "--control-token", cls.token_file)
        cls.client = Client(cls.member.http_port, token_file=cls.token_file)
        cls.seed_client = Client(cls.seed.http_port)

    @classmethod
    def tearDownClass(cls):
        cls.member.stop()
        cls.seed.stop()
        shutil.rmtree(cls.directory, ignore_errors=True)

    def row_on_seed(self, check):
        """The member's row in the seed's live view once `check(row)` holds."""
        def find():
            for row in self.seed_client.peers():
                if row["owner"] == self.member.public_key and check(row):
                    return row
            return None
        return eventually(find)

    def test_the_token_file_is_private(self):
        self.assertEqual(os.stat(self.token_file).st_mode & 0o777, 0o600)

    def test_info_and_a_reported_throughput_reach_another_node(self):
        row = self.row_on_seed(lambda row: True)
        self.assertIsNotNone(row, "the member never reached the seed's view")
        self.assertEqual(row["info"], {"stake": 5})
        changed = self.client.update(tput=12.5)
        self.assertEqual(changed["tput"], 12500)
        self.assertEqual(changed["owner"], self.member.public_key)
        self.assertIsNotNone(self.row_on_seed(lambda row: row["tput"] == 12500), "tput 12.5 never reached the seed")

    def test_a_change_the_policy_refuses_raises_refused_and_changes_nothing(self):
        with self.assertRaises(Refused) as refused:
            self.client.update(role="admin")
        self.assertEqual(refused.exception.code, 209)
        self.assertEqual(refused.exception.status, 422)
        self.assertIn("admin", refused.exception.message)
        self.assertEqual(self.client.update()["role"], "miner")

    def test_writes_need_the_token(self):
        for client in (Client(self.member.http_port), Client(self.member.http_port, token="x" * 64)):
            with self.assertRaises(Unauthorized) as unauthorized:
                client.update(tput=99)
            self.assertEqual(unauthorized.exception.code, 401)
        # Reads do not.
        self.assertIsInstance(Client(self.member.http_port).peers(), list)

    def test_bad_input_raises_bad_request(self):
        with self.assertRaises(BadRequest) as bad:
            self.client.update(tput=-1)
        self.assertIn("tput", bad.exception.message)
        with self.assertRaises(BadRequest):
            self.client.update(state="joining")
        with self.assertRaises(Refused) as too_big:
            self.client.update(info={"blob": "x" * 1200})
        self.assertEqual(too_big.exception.code, 205)
        self.assertIn("1000-byte limit", too_big.exception.message)

    def test_info_fields_merge_and_null_removes(self):
        self.client.update(info={"score": 0.75, "zone": "eu"})
        merged = self.client.update(info={"zone": None})
        self.assertEqual(merged["info"], {"score": 0.75, "stake": 5})
        self.client.update(info={"score": None})
        named = self.client.update(name="gpu-1")
        self.assertEqual(named["name"], "gpu-1")
        self.assertIsNone(self.client.update(name=None)["name"])

    def test_announce_and_read_a_record(self):
        published = self.client.announce("jobs", {"job": 7, "model": "llama"}, ttl=60)
        self.assertGreaterEqual(len(published["accepted"]), 1)
        self.assertEqual(published["key"], "jobs")
        rows = eventually(lambda: [row for row in self.seed_client.records("jobs") if row["owner"] == self.member.public_key])
        self.assertIsNotNone(rows)
        self.assertEqual(rows[0]["value"], "d3:jobi7e5:model5:llamae")
        with self.assertRaises(BadRequest):
            self.client.announce("jobs", 1.5)

    def test_events_start_with_the_view_report_changes_and_resume(self):
        self.assertIsNotNone(self.row_on_seed(lambda row: True))
        stream = self.seed_client.events(reconnect=False)
        reset = next(stream)
        self.assertEqual(reset.name, "reset")
        self.assertIn(self.member.public_key, [row["owner"] for row in reset.data])
        self.client.update(tput=7.25)
        changed = self.next_event(stream, lambda event: event.name == "changed" and event.data["tput"] == 7250)
        self.assertIsNotNone(changed, "no changed event for tput 7.25")
        self.assertGreater(changed.id, reset.id)
        stream.close()
        # Back after a gap: what happened meanwhile, after the last id seen, and no reset.
        self.client.update(tput=8.5)
        resumed = self.seed_client.events(last_event_id=changed.id, reconnect=False)
        missed = self.next_event(resumed, lambda event: event.name == "changed" and event.data["tput"] == 8500)
        self.assertIsNotNone(missed)
        self.assertEqual(missed.id, changed.id + 1)
        resumed.close()

    def next_event(self, stream, wanted, within=20.0):
        """The first event of `stream` that `wanted` accepts, read in a thread so a quiet stream
        cannot hang the test."""
        found = []

        def read():
            for event in stream:
                if wanted(event):
                    found.append(event)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(within)
        return found[0] if found else None

    def test_health_and_unknown_endpoints(self):
        self.assertIn(self.client.health()["state"], ("joining", "online"))
        with self.assertRaises(NotFound):
            self.client._request("GET", "/nope")
        with self.assertRaises(NodeUnreachable):
            Client(free_port()).peers()

    def test_no_token_file_means_writes_are_forbidden(self):
        from subnet_dht import Forbidden
        with self.assertRaises(Forbidden) as forbidden:
            Client(self.seed.http_port, token="y" * 64).update(tput=1)
        self.assertIn("--control-token", forbidden.exception.message)


class PackagingTests(unittest.TestCase):
    def test_pip_installs_the_package_into_a_fresh_environment(self):
        with tempfile.TemporaryDirectory() as environment:
            subprocess.run([sys.executable, "-m", "venv", environment], check=True, timeout=120)
            python = os.path.join(environment, "bin", "python")
            # Built as pip builds it for a user: setuptools and wheel fetched for the build alone.
            installed = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PACKAGE],
                                       capture_output=True, text=True, timeout=300)
            self.assertEqual(installed.returncode, 0, installed.stderr)
            imported = subprocess.run([python, "-c", "import subnet_dht; print(subnet_dht.__version__, subnet_dht.Client.__name__)"],
                                      capture_output=True, text=True, timeout=60, cwd=environment)
            self.assertEqual(imported.stdout.strip(), "0.1.0 Client", imported.stderr)


class ExampleTests(unittest.TestCase):
    def test_the_example_server_reports_throughput_and_prints_events(self):
        seed = Node(*FAST, "--role", "validator", "--name", "seed")
        try:
            run = subprocess.run([sys.executable, os.path.join(REPOSITORY, "examples", "python_subnet_server.py"),
                                  "--subnet-dht", BINARY, "--http-port", str(free_port()), "--seconds", "10",
                                  "--bootstrap", seed.endpoint, "--role", "miner", "--info", "stake=5",
                                  "--heartbeat-interval", "1", "--heartbeat-ttl", "4"],
                                 capture_output=True, text=True, timeout=90)
        finally:
            seed.stop()
        self.assertEqual(run.returncode, 0, run.stderr)
        lines = run.stdout.splitlines()
        self.assertTrue(lines[0].startswith("listening 127.0.0.1:"), lines)
        key = lines[0].split()[3][:8]
        self.assertTrue(any(re.match(r"(joined|reset)\s+seed\s+validator\s+-\s+", line) for line in lines), lines)
        self.assertTrue(any(re.match(r"(joined|reset)\s+-\s+miner\s+", line) and key in line and "{'stake': 5}" in line
                            for line in lines), lines)
        self.assertTrue(any(re.match(r"changed\s+-\s+miner\s+1\d\.\d/s\s+" + key, line) for line in lines), lines)


if __name__ == "__main__":
    unittest.main()
