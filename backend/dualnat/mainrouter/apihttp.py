"""HTTP to a main router's API (requests): its LAN address only, timeouts, no redirects,
and failures as plain sentences that never carry a request body, header or secret."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any
from urllib.parse import urlsplit

import requests

from .errors import RouterError

# requests' exceptions, most specific first → what happened (catalogue table [push])
NET_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (requests.exceptions.SSLError, "net.tls"),
    (requests.exceptions.Timeout, "net.timeout"),
    (requests.exceptions.ConnectionError, "net.unreachable"),
    (requests.exceptions.RequestException, "net.broken"),
)
SCHEMES = ("http", "https")


def base_url(router: IPv4Address, scheme: str = "http", port: int | None = None) -> str:
    """``scheme://<LAN address>[:port]``: the only place requests go."""
    if scheme not in SCHEMES:
        raise ValueError(f"'{scheme}' is not http or https")
    return f"{scheme}://{router}" + (f":{port}" if port else "")


def lan_url(url: str, router: IPv4Address) -> str:
    """The base URL of `url` if it names the main router's LAN address; ValueError
    otherwise (a host name, another address, a user name in it, a path)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES or parts.hostname != str(router):
        raise ValueError(f"the main router's URL must be http(s)://{router}[:port]")
    if parts.username or parts.password or parts.path.strip("/") or parts.query:
        raise ValueError(f"the main router's URL must be http(s)://{router}[:port]")
    return base_url(router, parts.scheme, parts.port)


class Api:
    """One router's HTTP API: `request` returns the response or raises RouterError."""

    def __init__(
        self,
        base: str,
        router: IPv4Address,
        *,
        timeout: float,
        verify: bool | str = True,
        session: requests.Session | None = None,
    ) -> None:
        self.base = base
        self.router = router
        self.timeout = timeout
        self.verify = verify
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxy between the bypass and the main router

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(
                method,
                self.base + path,
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
                **kwargs,
            )
        except requests.RequestException as exc:
            what = next(text for kind, text in NET_ERRORS if isinstance(exc, kind))
            wait = {"seconds": f"{self.timeout:g}"} if what == "net.timeout" else {}
            raise RouterError(
                what, manual=what == "net.tls", unreachable=True, router=self.router, **wait
            ) from None

    def json(self, response: requests.Response) -> Any:
        """The JSON body; RouterError when there is none."""
        try:
            return response.json()
        except ValueError:
            raise RouterError("api.no_json", status=response.status_code) from None

    def close(self) -> None:
        self.session.close()
