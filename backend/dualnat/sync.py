"""The UCI edits that bring a config in line with the plan (pure: documents in, changes out).

Firewall: dualnat owns every section named `dualnat_*` and nothing else.
DHCP: dualnat adds items to the LAN's `dhcp_option` list and may switch the server on in
the user's own `config dhcp` section; it records what it did there in two options of its
own (`dualnat_dhcp_option`, `dualnat_ignore_was`) so that it can undo exactly that.
"""

from __future__ import annotations

from collections.abc import Sequence

from .options import parse_bool
from .plan import DhcpServer
from .render.uci import PREFIX, UciSection
from .uci import (
    AddListItem,
    Change,
    DeleteListItem,
    DeleteOption,
    DeleteSection,
    Document,
    Section,
    SetList,
    SetOption,
    SetSection,
)

MARK_OPTIONS = "dualnat_dhcp_option"  # the dhcp_option items dualnat added
MARK_IGNORE = "dualnat_ignore_was"  # 'ignore' before dualnat switched the server on


def firewall_changes(doc: Document, wanted: Sequence[UciSection]) -> list[Change]:
    """The edits that turn the dualnat_* sections of `doc` into exactly `wanted`."""
    existing = {s.name: s for s in doc.sections() if s.name and s.name.startswith(PREFIX)}
    names = {w.name for w in wanted}
    changes: list[Change] = [DeleteSection(n) for n in existing if n not in names]
    for sec in wanted:
        cur = existing.get(sec.name)
        opts = sec.as_dict()
        if cur is None or cur.type != sec.type:
            if cur is not None:
                changes.append(DeleteSection(sec.name))
            changes.append(SetSection(sec.name, sec.type))
            changes += [SetOption(sec.name, k, v) for k, v in sec.options]
            continue
        changes += [DeleteOption(sec.name, k) for k in cur.options if k not in opts]
        changes += [SetOption(sec.name, k, v) for k, v in sec.options if cur.options.get(k) != v]
    return changes


def _is_true(value: str | None) -> bool:
    try:
        return value is not None and parse_bool(value)
    except ValueError:
        return False


def _section_changes(sec: Section, wanted: tuple[str, ...], enable: bool) -> list[Change]:
    assert sec.name is not None
    name = sec.name
    current = sec.get_list("dhcp_option")
    ours = sec.get_list(MARK_OPTIONS)
    changes: list[Change] = []
    # items dualnat added and no longer wants; the user's own items are never touched
    for item in ours:
        if item not in wanted:
            changes.append(DeleteListItem(name, "dhcp_option", item))
    added = [item for item in wanted if item not in current]
    changes += [AddListItem(name, "dhcp_option", item) for item in added]
    marks = [item for item in ours if item in wanted] + added
    if marks != ours:
        changes.append(
            SetList(name, MARK_OPTIONS, marks) if marks else DeleteOption(name, MARK_OPTIONS)
        )
    was = sec.get(MARK_IGNORE)
    ignore = sec.get("ignore")
    if enable and was is None and _is_true(ignore):
        assert ignore is not None
        changes += [SetOption(name, "ignore", "0"), SetOption(name, MARK_IGNORE, ignore)]
    elif not enable and was is not None:
        changes += [SetOption(name, "ignore", was), DeleteOption(name, MARK_IGNORE)]
    return changes


def dhcp_changes(doc: Document, item: DhcpServer | None) -> list[Change]:
    """Edits of /etc/config/dhcp for `item` (None: undo whatever dualnat did there)."""
    changes: list[Change] = []
    for sec in doc.sections_of_type("dhcp"):
        if sec.name is None:
            continue
        if item is not None and sec.name == item.section:
            changes += _section_changes(sec, item.options, item.enable)
        elif MARK_OPTIONS in sec.options or MARK_IGNORE in sec.options:
            changes += _section_changes(sec, (), False)
    return changes
