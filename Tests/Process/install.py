#!/usr/bin/env python3
"""Bootstrap/install.sh and uninstall.sh into a temporary DESTDIR, as a packager runs them, and
into a temporary prefix, as an operator runs them.

Checks:
  * the install lays down exactly the listed files (binary, systemd unit, default config, man
    page, bash, zsh and fish completions, the list itself), and the list names them;
  * `systemd-analyze verify` passes on the installed unit, and `systemd-analyze security`
    rates it;
  * the installed binary, started with the installed default config (address, ports, seed and
    state directory from SUBNET_DHT_* variables, as the unit does), joins a local network;
  * the installed binary prints its version; `man -l` renders the installed page; the page
    names every subcommand and every long option the binary has (it is generated, committed,
    and must not fall behind: Bootstrap/generate-manual.sh);
  * the completion scripts are the shells' own: bash loads it and registers `subnet-dht`;
  * the uninstall removes exactly those files, leaves a node's state directory alone, and a
    second uninstall says there is nothing to remove.
Prints `ok NAME (figures)` / `FAIL NAME: reason` and a final `N passed, M failed` line.

    python3 Tests/Process/install.py --subnet-dht .build/debug/subnet-dht
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.checks import Checks, wait_until  # noqa: E402
from pysupport.localnet import free_tcp_port, http_get  # noqa: E402
from pysupport.processes import start_run, stop_all  # noqa: E402

REPOSITORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PREFIX = "/usr"
EXPECTED = {
    "/usr/bin/subnet-dht",
    "/usr/lib/systemd/system/subnet-dht.service",
    "/etc/subnet-dht/config.yaml",
    "/usr/share/man/man1/subnet-dht.1",
    "/usr/share/bash-completion/completions/subnet-dht",
    "/usr/share/zsh/site-functions/_subnet-dht",
    "/usr/share/fish/vendor_completions.d/subnet-dht.fish",
    "/usr/share/subnet-dht/installed-files",
}


def files_under(root):
    found = set()
    for directory, _, names in os.walk(root):
        for name in names:
            found.add("/" + os.path.relpath(os.path.join(directory, name), root))
    return found


def options_of(command, path=()):
    """(subcommand path, long option) for every option of the dumped help, recursively."""
    names = [(path, argument.get("names", [])) for argument in command.get("arguments", []) if argument.get("shouldDisplay", True)]
    found = []
    for sub_path, argument_names in names:
        for name in argument_names:
            if name["kind"] == "long":
                found.append((" ".join(sub_path), name["name"]))
    for sub in command.get("subcommands", []):
        found += options_of(sub, path + (sub["commandName"],))
    return found


def operator_install(binary, check):
    """Into a temporary prefix (and config directory), so that the unit names real paths."""
    root = tempfile.mkdtemp(prefix="install-prefix.")
    processes = []
    try:
        prefix, sysconfdir = os.path.join(root, "usr"), os.path.join(root, "etc")
        subprocess.run(["bash", os.path.join(REPOSITORY, "Bootstrap", "install.sh"), "--prefix", prefix, "--sysconfdir", sysconfdir,
                        "--binary", binary], check=True, capture_output=True, timeout=120)
        unit = os.path.join(prefix, "lib/systemd/system/subnet-dht.service")
        verify = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=120,
                                env=dict(os.environ, MANPATH=os.path.join(prefix, "share/man")))
        security = subprocess.run(["systemd-analyze", "security", "--offline=true", unit], capture_output=True, text=True, timeout=120)
        exposure = [line for line in security.stdout.splitlines() if "Overall exposure level" in line]
        check("systemd-analyze-verify", verify.returncode == 0 and not verify.stderr.strip() and not verify.stdout.strip(),
              "exit %s: %s %s" % (verify.returncode, verify.stdout[-400:], verify.stderr[-400:]),
              "verify clean; %s" % (exposure[0].split("for ")[-1] if exposure else "no exposure line"))

        # As the unit runs it, with this test's own address, ports, seed and state directory.
        logs = os.path.join(root, "logs")
        os.makedirs(logs)
        seed_http = free_tcp_port()
        _, seed, _ = start_run(os.path.join(prefix, "bin/subnet-dht"), logs, 0, "seed", (1, 4, 1), None,
                               ("--http-port", str(seed_http)), processes)
        state = os.path.join(root, "state")
        environment = dict(os.environ, SUBNET_DHT_HOST="127.0.0.1", SUBNET_DHT_PORT="0", SUBNET_DHT_HTTP_PORT=str(free_tcp_port()),
                           SUBNET_DHT_BOOTSTRAP=seed, SUBNET_DHT_STATE_DIR=state, SUBNET_DHT_IDENTITY=os.path.join(state, "identity"),
                           SUBNET_DHT_HEARTBEAT_INTERVAL="1", SUBNET_DHT_HEARTBEAT_TTL="4", SUBNET_DHT_PRUNE_INTERVAL="1",
                           SUBNET_DHT_NAME="installed")
        config = os.path.join(sysconfdir, "subnet-dht/config.yaml")
        checked = subprocess.run([os.path.join(prefix, "bin/subnet-dht"), "config", "check", config], capture_output=True, text=True,
                                 timeout=30, env=environment)
        node = subprocess.Popen([os.path.join(prefix, "bin/subnet-dht"), "run", "--config", config], stdout=subprocess.PIPE,
                                stderr=open(os.path.join(logs, "installed.err"), "w"), text=True, env=environment)
        processes.append(node)
        first = node.stdout.readline().split()

        def listed():
            status, body = http_get(seed_http, "/peers.json")
            return status == 200 and any(row.get("name") == "installed" for row in json.loads(body))

        joined, took = wait_until(30, listed)
        lines = checked.stdout.splitlines()
        check("installed-config-joins", checked.returncode == 0 and any(line.startswith("json-logs") and line.endswith("file") for line in lines)
              and any(line.startswith("port ") and line.endswith("environment") for line in lines) and first[:1] == ["listening"]
              and joined and os.path.exists(os.path.join(state, "identity")),
              "config check %s %r %r; first line %r; in the seed's view %s" % (checked.returncode, checked.stdout[-600:], checked.stderr[-300:],
                                                                                first, joined),
              "in the seed's view %.1f s after start" % (took or -1))
    finally:
        stop_all(processes)
        subprocess.run(["rm", "-rf", root])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subnet-dht", default=os.environ.get("SUBNET_DHT_BIN", ".build/debug/subnet-dht"))
    args = parser.parse_args()
    binary = os.path.abspath(args.subnet_dht)
    checks = Checks()
    check = checks.check
    destdir = tempfile.mkdtemp(prefix="install.")
    print("DESTDIR %s" % destdir, flush=True)
    environment = dict(os.environ, DESTDIR=destdir)
    try:
        installed = subprocess.run(["bash", os.path.join(REPOSITORY, "Bootstrap", "install.sh"), "--prefix", PREFIX, "--binary", binary],
                                   capture_output=True, text=True, timeout=120, env=environment)
        laid = files_under(destdir)
        with open(os.path.join(destdir, "usr/share/subnet-dht/installed-files")) as listing:
            listed = set(line.split()[0] for line in listing if line.strip())
        check("install-lays-down-exactly-the-list", installed.returncode == 0 and laid == EXPECTED and listed == EXPECTED,
              "exit %s %r; laid %s; listed %s" % (installed.returncode, installed.stderr[-300:], sorted(laid ^ EXPECTED), sorted(listed ^ EXPECTED)),
              "%d files" % len(laid))

        installed_binary = os.path.join(destdir, "usr/bin/subnet-dht")
        version = subprocess.run([installed_binary, "--version"], capture_output=True, text=True, timeout=30)
        page = os.path.join(destdir, "usr/share/man/man1/subnet-dht.1")
        rendered = subprocess.run(["man", "-l", page], capture_output=True, text=True, timeout=60,
                                  env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="100"))
        text = rendered.stdout
        dumped = json.loads(subprocess.run([binary, "--experimental-dump-help"], capture_output=True, text=True, timeout=30).stdout)
        options = options_of(dumped["command"])
        subcommands = [sub["commandName"] for sub in dumped["command"]["subcommands"] if sub["commandName"] != "help"]
        with open(page) as source:
            troff = source.read()
        # mdoc writes `--host` as `Fl -host` (and `-h, --help` as `Fl h , -help`).
        missing = sorted(set("%s --%s" % (command, option) for command, option in options
                             if "Fl -%s" % option not in troff and ", -%s" % option not in troff))
        missing += [command for command in subcommands if command not in text]
        check("version-and-man-page", version.returncode == 0 and version.stdout.startswith("subnet-dht 0.1.0 (protocol 1, commit ")
              and rendered.returncode == 0 and "SUBNET-DHT(1)" in text and not missing,
              "version %r; man exit %s %r; the page lacks %s" % (version.stdout, rendered.returncode, rendered.stderr[-200:], missing[:20]),
              "%s; the page names %d subcommands and %d options" % (version.stdout.strip(), len(subcommands), len(options)))

        completion = os.path.join(destdir, "usr/share/bash-completion/completions/subnet-dht")
        loaded = subprocess.run(["bash", "-c", "source '%s' && complete -p subnet-dht" % completion], capture_output=True, text=True, timeout=30)
        with open(os.path.join(destdir, "usr/share/zsh/site-functions/_subnet-dht")) as zsh:
            zsh_text = zsh.read()
        with open(os.path.join(destdir, "usr/share/fish/vendor_completions.d/subnet-dht.fish")) as fish:
            fish_text = fish.read()
        check("completions-load", loaded.returncode == 0 and "subnet-dht" in loaded.stdout and zsh_text.startswith("#compdef subnet-dht")
              and "complete -c 'subnet-dht'" in fish_text and all(command in fish_text for command in subcommands),
              "bash: %s %r %r; zsh starts %r" % (loaded.returncode, loaded.stdout, loaded.stderr[-200:], zsh_text[:40]),
              loaded.stdout.strip())

        # A node's state directory is never touched; an operator's config survives an
        # uninstall once changed, and a reinstall (the new default goes beside it).
        state = os.path.join(destdir, "var/lib/subnet-dht")
        os.makedirs(state)
        with open(os.path.join(state, "identity"), "w") as identity:
            identity.write("kept\n")
        with open(os.path.join(destdir, "etc/subnet-dht/config.yaml"), "a") as config:
            config.write("name: edited\n")

        def uninstall():
            return subprocess.run(["bash", os.path.join(REPOSITORY, "Bootstrap", "uninstall.sh"), "--prefix", PREFIX],
                                  capture_output=True, text=True, timeout=60, env=environment)

        removed = uninstall()
        left = files_under(destdir)
        reinstalled = subprocess.run(["bash", os.path.join(REPOSITORY, "Bootstrap", "install.sh"), "--prefix", PREFIX, "--binary", binary],
                                     capture_output=True, text=True, timeout=120, env=environment)
        beside = os.path.exists(os.path.join(destdir, "etc/subnet-dht/config.yaml.new"))
        removed_again = uninstall()
        left_again = files_under(destdir)
        nothing = uninstall()
        kept = {"/var/lib/subnet-dht/identity", "/etc/subnet-dht/config.yaml"}
        check("uninstall-removes-exactly-the-list", removed.returncode == 0 and left == kept and "keeping /etc/subnet-dht/config.yaml" in removed.stderr
              and reinstalled.returncode == 0 and beside and removed_again.returncode == 0 and left_again == kept
              and nothing.returncode == 66 and "nothing installed" in nothing.stderr,
              "exit %s %r; left %s; reinstalled %s, .new %s; left again %s; a third time %s %r"
              % (removed.returncode, removed.stderr[-200:], sorted(left), reinstalled.returncode, beside, sorted(left_again),
                 nothing.returncode, nothing.stderr[-200:]),
              removed.stdout.strip() + "; kept the state directory and the changed config")

        operator_install(binary, check)
    except Exception as error:  # the summary line must still be printed
        check("harness", False, repr(error))
    finally:
        subprocess.run(["rm", "-rf", destdir])
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
