"""The loaded rules of a test router with firewall4, for the doctor and ``/status``.

`Firewall4(config_dir).run` answers ``nft list ruleset`` with the NAT chains firewall4
renders (the lab's emulation, tests/lab/fw4_emulation.py) from the ``dualnat_*`` sections
of ``<config_dir>/firewall``: by default as if firewall4 were reloaded after every write.
`freeze()` keeps the rules loaded now whatever is written later (the firewall was not
reloaded), and `skipped` names sections that firewall4 does not load.
"""

from __future__ import annotations

import subprocess
import sys
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

LAB = Path(__file__).resolve().parents[1] / "lab"
if str(LAB) not in sys.path:
    sys.path.insert(0, str(LAB))

import fw4_emulation  # noqa: E402  (tests/lab: the firewall4 stand-in)

from dualnat.uci import FileBackend  # noqa: E402

LAN = fw4_emulation.Zone(
    "lan",
    ("br-lan",),
    (IPv4Network("192.168.1.0/24"),),
    (IPv4Address("192.168.1.2"),),
)


class Firewall4:
    """firewall4 on the router whose UCI configs are in `config_dir`."""

    def __init__(self, config_dir: Path) -> None:
        self.backend = FileBackend(config_dir)
        self.frozen: str | None = None
        self.skipped: set[str] = set()

    def rendered(self) -> str:
        """`nft list ruleset` for the firewall config as it is now."""
        doc = self.backend.read("firewall")
        sections = [
            fw4_emulation.Section(
                s.type,
                s.name or "",
                tuple((k, " ".join(v) if isinstance(v, list) else v) for k, v in s.options.items()),
            )
            for s in doc.sections()
            if s.name
            and s.name.startswith("dualnat_")
            and s.type in ("redirect", "nat")
            and s.name not in self.skipped
        ]
        script = fw4_emulation.translate(sections, [LAN]).script()
        return script.split("\n", 3)[3]  # without the "table ... / flush ..." lines

    def ruleset(self) -> str:
        return self.frozen if self.frozen is not None else self.rendered()

    def freeze(self) -> None:
        """From now on the firewall is not reloaded: the rules loaded now stay."""
        self.frozen = self.rendered()

    def thaw(self) -> None:
        """Reload the firewall (and after every later write)."""
        self.frozen = None

    def run(self, cmd: list[str], **_: object) -> subprocess.CompletedProcess:
        if cmd[:3] == ["nft", "list", "ruleset"]:
            return subprocess.CompletedProcess(cmd, 0, self.ruleset(), "")
        return subprocess.CompletedProcess(cmd, 127, "", f"{cmd[0]}: not here")
