"""The edits that bring the proxies' settings in line with the plan (pure: what dualnat
added before, what the plan wants and the files as they are now in; edits out).

dualnat owns exactly the entries its state file lists: it removes those the plan no
longer wants (a changed public address, proxy_coexist 'off', a revert) before it adds
the new ones, and never touches any other item, line or file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..plan import ProxyExclusion
from ..uci import Change, DeleteListItem, Document
from .catalog import PROXIES
from .entries import FileLine, NftInclude, Owned, UciEdit, add_file_lines, remove_file_lines
from .exclude import activate_for


@dataclass
class ProxyEdits:
    """`uci`: config → changes; `files`: router path → new text (None: delete the file);
    `activate`: the commands to run afterwards, in order; `state`: proxy key → what
    dualnat owns afterwards; `changed`: the proxies whose settings change."""

    uci: dict[str, list[Change]] = field(default_factory=dict)
    files: dict[str, str | None] = field(default_factory=dict)
    activate: list[str] = field(default_factory=list)
    state: dict[str, tuple[Owned, ...]] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.uci and not self.files


def _present(doc: Document | None, edit: UciEdit) -> bool:
    section = doc.section(edit.section) if doc is not None else None
    return section is not None and edit.value in section.get_list(edit.option)


def proxy_edits(
    wanted: Sequence[ProxyExclusion],
    owned: Mapping[str, Sequence[Owned]],
    docs: Mapping[str, Document],
    files: Mapping[str, str | None],
    running: Mapping[str, bool] | None = None,
) -> ProxyEdits:
    """What apply writes: `wanted` are the plan's proxy items (none for a revert),
    `owned` what the state file lists, `docs` the proxies' UCI configs as they are,
    `files` router path → text (None: no such file) of every file an entry names;
    `running` says which proxies to restart when no plan item says it (a revert)."""
    running = running or {}
    items = {i.proxy: i for i in wanted}
    edits = ProxyEdits()
    texts: dict[str, str | None] = dict(files)
    for key in [*items, *(k for k in owned if k not in items)]:
        item = items.get(key)
        new = tuple(item.entries) if item is not None else ()
        old = tuple(owned.get(key, ()))
        changed: list[Owned] = []
        for entry in (*(o for o in old if o not in new), *new):
            adding = entry in new
            if isinstance(entry, UciEdit):
                if adding == _present(docs.get(entry.config), entry):
                    continue
                change = entry.change if adding else entry.revert
                edits.uci.setdefault(entry.config, []).append(change)
            elif isinstance(entry, FileLine):
                before = texts.get(entry.path) or ""
                after = (
                    add_file_lines(before, [entry])
                    if adding
                    else remove_file_lines(before, [entry])
                )
                if after == before:
                    continue
                texts[entry.path] = edits.files[entry.path] = after
            else:
                assert isinstance(entry, NftInclude)
                current = texts.get(entry.path)
                target = entry.text if adding else None
                if current == target:
                    continue
                texts[entry.path] = edits.files[entry.path] = target
            changed.append(entry)
        edits.state[key] = new
        if not changed:
            continue
        edits.changed.append(key)
        proxy = PROXIES.get(key)
        if item is not None:
            commands: Sequence[str] = item.activate
        elif proxy is not None:
            commands = activate_for(proxy, changed, running.get(key, False))
        else:
            commands = ()
        edits.activate += [c for c in commands if c not in edits.activate]
    for config, changes in list(edits.uci.items()):
        # deletes first: a changed public address leaves before the new one comes
        edits.uci[config] = sorted(changes, key=lambda c: not isinstance(c, DeleteListItem))
    return edits


__all__ = ["ProxyEdits", "proxy_edits"]
