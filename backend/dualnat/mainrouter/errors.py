"""The one error the main-router clients raise: a plain sentence, never a secret."""

from __future__ import annotations


class RouterError(Exception):
    """The main router refused or could not be asked.

    `reason` is one sentence in plain words, built only from fixed text, port numbers,
    addresses and what the router itself answered; never from a password or key.
    `manual`: the user has to act on the main router. `unreachable`: the router did not
    answer at all, so asking it again in the same push is pointless."""

    def __init__(
        self,
        reason: str,
        *,
        manual: bool = False,
        unreachable: bool = False,
        code: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.manual = manual
        self.unreachable = unreachable
        self.code = code
