"""Change objects: validated on construction, re-validated before use."""

from __future__ import annotations

import dataclasses

import pytest

from dualnat.uci import DeleteOption, DeleteSection, SetList, SetOption, SetSection, quote
from dualnat.uci.changes import validate_change


def test_valid_changes() -> None:
    assert SetSection("dualnat_1", "redirect").type == "redirect"
    assert SetSection("w", "wifi-iface").name == "w"
    assert SetOption("s", "o", "a 'b' $(c) `d`; e\tf").value == "a 'b' $(c) `d`; e\tf"
    assert SetList("s", "o", ["a", "b"]).values == ("a", "b")
    assert SetList("s", "o", (v for v in "xy")).values == ("x", "y")
    assert SetList("s", "o", []).values == ()
    assert DeleteOption("s", "o") == DeleteOption("s", "o")
    assert hash(DeleteSection("s")) == hash(DeleteSection("s"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: SetSection("a.b", "rule"),
        lambda: SetSection("a", "has space"),
        lambda: SetSection("a", "tab\t"),
        lambda: SetSection("", "rule"),
        lambda: SetSection("a", ""),
        lambda: SetSection("a;reboot", "rule"),
        lambda: SetOption("s", "o", ""),
        lambda: SetOption("s", "o", "a\nb"),
        lambda: SetOption("s", "o", "a\0b"),
        lambda: SetOption("s", "o", "a\x1bb"),
        lambda: SetOption("s", "o", "a\x7f"),
        lambda: SetOption("s", "o", 5),
        lambda: SetOption("s$(id)", "o", "v"),
        lambda: SetOption("s", "o=x", "v"),
        lambda: SetOption("s", "ö", "v"),
        lambda: SetList("s", "o", ["ok", ""]),
        lambda: SetList("s", "o", ["a\nb"]),
        lambda: SetList("s", "o o", ["a"]),
        lambda: DeleteOption("s", "o.p"),
        lambda: DeleteOption("s s", "o"),
        lambda: DeleteSection("@rule[0]"),
        lambda: DeleteSection("x'"),
    ],
)
def test_invalid_changes_are_refused(make) -> None:
    with pytest.raises(ValueError):
        make()


def test_set_list_refuses_a_plain_string() -> None:
    with pytest.raises(TypeError):
        SetList("s", "o", "tcp udp")


def test_changes_are_frozen_and_tampering_is_caught() -> None:
    change = SetOption("s", "o", "v")
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.value = "w"  # type: ignore[misc]
    object.__setattr__(change, "section", "s.x=y")
    with pytest.raises(ValueError):
        validate_change(change)
    with pytest.raises(TypeError):
        validate_change("delete firewall")
    with pytest.raises(ValueError):
        dataclasses.replace(SetSection("a", "b"), name="a b")


@pytest.mark.parametrize(
    ("value", "quoted"),
    [("abc", "'abc'"), ("it's", "'it'\\''s'"), ("''", "''\\'''\\'''"), ("", "''")],
)
def test_quote(value: str, quoted: str) -> None:
    assert quote(value) == quoted
