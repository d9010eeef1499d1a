#!/usr/bin/env python3
"""Bootstrap/install.sh and uninstall.sh into a temporary DESTDIR, as a packager runs them.

Checks:
  * the install lays down exactly the listed files (binary, man page, bash, zsh and fish
    completions, the list itself), and the list names them;
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pysupport.checks import Checks  # noqa: E402

REPOSITORY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PREFIX = "/usr"
EXPECTED = {
    "/usr/bin/subnet-dht",
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
            listed = set(line.strip() for line in listing if line.strip())
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

        state = os.path.join(destdir, "var/lib/subnet-dht")
        os.makedirs(state)
        with open(os.path.join(state, "identity"), "w") as identity:
            identity.write("kept\n")
        removed = subprocess.run(["bash", os.path.join(REPOSITORY, "Bootstrap", "uninstall.sh"), "--prefix", PREFIX],
                                 capture_output=True, text=True, timeout=60, env=environment)
        left = files_under(destdir)
        again = subprocess.run(["bash", os.path.join(REPOSITORY, "Bootstrap", "uninstall.sh"), "--prefix", PREFIX],
                               capture_output=True, text=True, timeout=60, env=environment)
        check("uninstall-removes-exactly-the-list", removed.returncode == 0 and left == {"/var/lib/subnet-dht/identity"}
              and again.returncode == 66 and "nothing installed" in again.stderr,
              "exit %s %r; left %s; again %s %r" % (removed.returncode, removed.stderr[-200:], sorted(left), again.returncode, again.stderr[-200:]),
              removed.stdout.strip())
    except Exception as error:  # the summary line must still be printed
        check("harness", False, repr(error))
    finally:
        subprocess.run(["rm", "-rf", destdir])
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
