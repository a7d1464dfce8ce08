#!/usr/bin/env python3
"""`uci` for shell scripts under test: tests/fixtures/fake_uci.py plus `get` and `show`.

Put a folder with an executable `uci` that runs this file first in PATH; the config
folder comes from $FAKE_UCI_CONFDIR (instead of /etc/config). Supported: `[-q] get
CONFIG.SECTION[.OPTION]`, `[-q] show CONFIG`, and fake_uci's `batch` and `export`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

import fake_uci


def main(argv: list[str]) -> int:
    confdir = os.environ["FAKE_UCI_CONFDIR"]
    quiet = "-q" in argv
    args = [a for a in argv if a != "-q"]
    if args[:1] in (["batch"], ["export"]):
        return fake_uci.main(["-c", confdir, *args])
    uci = fake_uci.Uci(Path(confdir))
    try:
        if args[:1] == ["get"] and len(args) == 2:
            parts = args[1].split(".")
            if len(parts) not in (2, 3):
                raise fake_uci.UciFailure("Invalid argument")
            sec = uci.package(parts[0]).find(parts[1])
            if sec is None:
                raise fake_uci.UciFailure("Entry not found")
            if len(parts) == 2:
                print(sec["type"])
                return 0
            value = sec["options"].get(parts[2])
            if value is None:
                raise fake_uci.UciFailure("Entry not found")
            print(" ".join(value) if isinstance(value, list) else value)
            return 0
        if args[:1] == ["show"] and len(args) == 2:
            pkg = uci.package(args[1])
            for sec in pkg.sections:
                print(f"{pkg.name}.{sec['name']}={sec['type']}")
                for option, value in sec["options"].items():
                    shown = (
                        " ".join(f"'{v}'" for v in value)
                        if isinstance(value, list)
                        else f"'{value}'"
                    )
                    print(f"{pkg.name}.{sec['name']}.{option}={shown}")
            return 0
        raise fake_uci.UciFailure(f"unsupported here: {' '.join(args)}")
    except fake_uci.UciFailure as exc:
        if not quiet:
            sys.stderr.write(f"uci: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
