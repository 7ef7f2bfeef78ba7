"""Refuses to regenerate goldens with library versions other than the pinned ones:
the golden tensors are only meaningful together with the versions that made them."""

import sys
from importlib.metadata import version

mismatches = []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    have = version(name)
    if have.split("+")[0] != want:
        mismatches.append(f"{name}: pinned {want}, installed {have}")
if mismatches:
    sys.exit(f"venv does not match {sys.argv[1]}:\n  " + "\n  ".join(mismatches))
