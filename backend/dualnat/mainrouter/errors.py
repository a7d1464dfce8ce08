"""The one error the main-router clients raise, and the sentences of a push.

Every sentence is a template of the catalogue table [push] (i18n/<lang>.toml), kept as a
part (`PushPart`) and rendered in the caller's language at the edge. Parameters are only
fixed words, port numbers, addresses and what the router itself answered; never a
password or key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from ..i18n import DEFAULT_LANG, Part, load_catalog, render


class PushPart(Part):
    """A sentence about the main router's forwards (catalogue table [push])."""

    TABLE: ClassVar[str] = "push"


says = PushPart.of


class RouterError(Exception):
    """The main router refused or could not be asked.

    `part` is the sentence in plain words (template `template_id` of the table [push]
    with `params`, or a part made already); `reason` is it in English. `manual`: the
    user has to act on the main router. `unreachable`: the router did not answer at all,
    so asking it again in the same push is pointless."""

    def __init__(
        self,
        template_id: str | PushPart,
        /,
        *,
        manual: bool = False,
        unreachable: bool = False,
        code: str = "",
        **params: object,
    ) -> None:
        if isinstance(template_id, PushPart):
            self.part = template_id
        else:
            self.part = says(template_id, **params)
        self.reason = self.part.render()
        super().__init__(self.reason)
        self.manual = manual
        self.unreachable = unreachable
        self.code = code

    @property
    def parts(self) -> tuple[PushPart, ...]:
        return (self.part,)

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return self.part.render(lang)


def part_of(data: dict[str, object]) -> PushPart:
    """A part from its JSON form ({"id", "params"}), as to_dict() wrote it."""
    params = data.get("params") or {}
    assert isinstance(params, dict)
    return PushPart(str(data["id"]), tuple((str(k), str(v)) for k, v in params.items()))


def on_ports(ports: Iterable[str], parts: Iterable[Part], lang: str = DEFAULT_LANG) -> str:
    """``tcp 80, udp 80: <the sentence>`` in `lang`."""
    catalog = load_catalog(lang)
    listed = catalog.t("push.port_list_sep").join(ports)
    return catalog.t("push.on_ports", ports=listed, reason=render(parts, lang))


def joined(texts: Iterable[str], lang: str = DEFAULT_LANG) -> str:
    """Several reasons of one forward, as the language separates them."""
    return load_catalog(lang).t("push.separator").join(texts)
