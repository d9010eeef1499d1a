#!/usr/bin/env bash
# The test command: installs system dependencies, builds, runs the Swift test suite, then the
# interoperability test against real libtorrent nodes, the test of 8 real `subnet-dht run`
# processes (heartbeats, SIGKILL, SIGTERM, metrics, restart), the status page in headless Chromium
# (6 processes; a graceful stop shows on the open page), 60 s of fuzzing, a request flood
# (all on 127.0.0.1), and the fault suite on network namespaces it creates itself (churn, loss,
# restart, partition). A suite that cannot run here (no namespaces, no Chromium) prints `skip:`,
# and fails when `CI` is set, as `.ci/run` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

Bootstrap/install-deps.sh
swift build --build-tests
swift test --skip-build
/usr/bin/python3 Tests/Interop/libtorrent_interop.py --subnet-dht "$(swift build --show-bin-path)/subnet-dht"
/usr/bin/python3 Tests/Process/subnet_processes.py --subnet-dht "$(swift build --show-bin-path)/subnet-dht"
/usr/bin/python3 Tests/Process/status_page.py --subnet-dht "$(swift build --show-bin-path)/subnet-dht"
bash Fuzz/run.sh 60
/usr/bin/python3 Tests/Faults/flood_loopback.py --subnet-dht "$(swift build --show-bin-path)/subnet-dht"
/usr/bin/python3 Tests/Faults/netns_faults.py --subnet-dht "$(swift build --show-bin-path)/subnet-dht" --quick
