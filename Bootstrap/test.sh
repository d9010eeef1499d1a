#!/usr/bin/env bash
# The test command: installs system dependencies, checks that every source folder uses only the
# folders below it, builds, runs the Swift test suite, then the
# interoperability test against real libtorrent nodes, the test of 8 real `subnet-dht run`
# processes (heartbeats, SIGKILL, SIGTERM, metrics, restart), every operator command and `run`
# flag as real processes (tables, exit codes, --watch, limits), the control API against bad input
# and 1,000 dropped event streams, the readiness and watchdog messages a service manager gets,
# an install and uninstall into a temporary DESTDIR, nodes under the kernel's
# MemoryDenyWriteExecute, the Python client and its example
# against real nodes (and installed with pip), the status page in headless Chromium
# (6 processes; a graceful stop shows on the open page), 60 s of fuzzing, a request flood
# (all on 127.0.0.1), and the fault suite on network namespaces it creates itself (churn, loss,
# restart, partition). A suite that cannot run here (no namespaces, no Chromium) prints `skip:`,
# and fails when `CI` is set, as `.ci/run` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs one step under an overall bound of LIMIT seconds: a hung suite (a shutdown that never
# returns, say) fails loudly here instead of holding CI until its own limit. Each bound is
# several times the step's usual time on this 2-core machine.
bounded() {
    local limit=$1 status=0
    shift
    timeout --kill-after=30 "$limit" "$@" || status=$?
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "FAIL timeout: did not finish within $limit s: $*" >&2
    fi
    return "$status"
}

Bootstrap/install-deps.sh
bounded 60 /usr/bin/python3 Tests/Architecture/check_layers.py
bounded 2400 swift build --build-tests
bin="$(swift build --show-bin-path)/subnet-dht"
bounded 900 swift test --skip-build
bounded 900 /usr/bin/python3 Tests/Interop/libtorrent_interop.py --subnet-dht "$bin"
bounded 600 /usr/bin/python3 Tests/Process/subnet_processes.py --subnet-dht "$bin"
bounded 300 /usr/bin/python3 Tests/Process/cli_commands.py --subnet-dht "$bin"
bounded 300 /usr/bin/python3 Tests/Process/subnet_policy.py --subnet-dht "$bin"
bounded 300 /usr/bin/python3 Tests/Process/control_input.py --subnet-dht "$bin"
bounded 300 /usr/bin/python3 Tests/Process/systemd_notify.py --subnet-dht "$bin"
bounded 300 /usr/bin/python3 Tests/Process/install.py --subnet-dht "$bin"
bounded 300 /usr/bin/python3 Tests/Process/memory_deny_write_execute.py --subnet-dht "$bin"
SUBNET_DHT="$bin" bounded 300 /usr/bin/python3 -m unittest discover -s clients/python/tests -v
bounded 600 /usr/bin/python3 Tests/Process/status_page.py --subnet-dht "$bin"
bounded 900 bash Fuzz/run.sh 60
bounded 600 /usr/bin/python3 Tests/Faults/flood_loopback.py --subnet-dht "$bin"
bounded 1200 /usr/bin/python3 Tests/Faults/netns_faults.py --subnet-dht "$bin" --quick
