#!/usr/bin/env python3
"""The source folders' layers, checked: each folder may name only types of folders below it.

    python3 Tests/Architecture/check_layers.py

For each target, LAYERS ranks its folders from the bottom. A folder's top-level types (struct,
class, enum, protocol, typealias, actor declared at the start of a line) belong to it; a folder
that names, outside comments, a type of a folder of the same or a higher rank breaks the layers,
and the script lists each such use and exits 1. Nested types are not owned (`Settings` and
`Configuration` are nested in many places), so a use through one is not seen: the check can
miss a back-edge, never invent one. A folder missing from LAYERS fails too, so a new folder
gets a place. The README's "Architecture" section draws the same order.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources")

# Bottom first; folders on one line share a rank and may not use each other.
LAYERS = {
    "SubnetDHTCore": [
        ["Basics"],
        ["Wire"],
        ["Crypto"],
        ["Routing", "Storage"],
        ["Records"],
        ["Operations"],
        ["Subnet"],
        ["Core"],
        ["Robustness"],
    ],
    "SubnetDHT": [
        ["Transport", "Files"],
        ["API"],
        ["Testnet", "Services/Metrics", "Services/HTTP"],
        ["Services/StatusPage", "Services/Control"],
        ["Services"],
    ],
}

DECLARATION = re.compile(r"^(?:(?:public|package|internal|private|fileprivate|final|indirect) |@\w+(?:\([^)]*\))? )*"
                         r"(?:struct|class|enum|protocol|typealias|actor)\s+([A-Z]\w*)", re.M)
TYPE_NAME = re.compile(r"\b[A-Z]\w*\b")


def folders_of(target):
    base = os.path.join(ROOT, target)
    found = {}
    for directory, _, files in os.walk(base):
        swift = [os.path.join(directory, name) for name in files if name.endswith(".swift")]
        if swift:
            found[os.path.relpath(directory, base)] = swift
    return found


def code(path):
    with open(path, encoding="utf-8") as source:
        text = source.read()
    text = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)  # string literals
    return re.sub(r"//.*", "", text)                     # comments, doc comments included


def check(target, layers):
    rank = {folder: level for level, row in enumerate(layers) for folder in row}
    folders = folders_of(target)
    problems = ["%s/%s: not in LAYERS" % (target, folder) for folder in sorted(folders) if folder not in rank]
    texts = {folder: {path: code(path) for path in paths} for folder, paths in folders.items()}
    owner = {}
    for folder, files in texts.items():
        for text in files.values():
            for name in DECLARATION.findall(text):
                owner.setdefault(name, folder)
    for folder, files in sorted(texts.items()):
        for path, text in sorted(files.items()):
            for name in sorted(set(TYPE_NAME.findall(text))):
                other = owner.get(name)
                if other is None or other == folder or folder not in rank or other not in rank:
                    continue
                if rank[other] >= rank[folder]:
                    problems.append("%s: names %s from %s/%s, which is not below %s" % (
                        os.path.relpath(path, ROOT), name, target, other, folder))
    return problems


def main():
    problems = [problem for target, layers in LAYERS.items() for problem in check(target, layers)]
    for problem in problems:
        print("FAIL " + problem)
    counted = sum(len(folders_of(target)) for target in LAYERS)
    print("layers: %d folders, %d uses against the order" % (counted, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
