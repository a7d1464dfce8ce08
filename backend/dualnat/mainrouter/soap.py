"""UPnP SOAP: request envelopes, answers, and what each fault code means in plain words.

A fault comes back as HTTP 500 with a UPnPError (errorCode, errorDescription). The codes
and when miniupnpd returns them were read in miniupnpd's upnpsoap.c and upnpredirect.c
(AddPortMapping: 606 for ports outside its permission rules or, in secure mode, a client
other than the requester; 718 for a port mapped to another host; 501 otherwise).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from html import escape as _html_escape

from .errors import RouterError

ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
# code → whether the user has to act on the main router; what each code means is the
# template "fault.<code>" of the catalogue table [push]
FAULTS: dict[int, bool] = {
    401: True,
    402: False,
    501: True,
    606: True,
    713: False,
    714: False,
    715: False,
    716: False,
    718: True,
    724: True,
    725: False,
    726: False,
    727: True,
    728: True,
    729: True,
    732: False,
}


def escape(text: str) -> str:
    """XML character data: &, < and > escaped (quotes stay)."""
    return _html_escape(text, quote=False)


def envelope(service: str, action: str, args: Sequence[tuple[str, str]]) -> bytes:
    """The SOAP request body; arguments in the order the action defines them."""
    body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in args)
    return (
        '<?xml version="1.0"?>\r\n'
        f'<s:Envelope xmlns:s="{ENVELOPE_NS}" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
        f'<s:Body><u:{action} xmlns:u="{escape(service)}">{body}</u:{action}></s:Body>'
        "</s:Envelope>\r\n"
    ).encode()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_xml(body: bytes) -> ET.Element:
    """Parse an answer from the LAN; DOCTYPEs (entity tricks) are refused."""
    if b"<!DOCTYPE" in body.upper():
        raise RouterError("upnp.doctype")
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        raise RouterError("upnp.not_xml") from None


def parse_response(body: bytes, action: str) -> dict[str, str]:
    """The `<action>Response` element's children, by name."""
    root = parse_xml(body)
    for el in root.iter():
        if _local(el.tag) == f"{action}Response":
            return {_local(c.tag): (c.text or "").strip() for c in el}
    raise RouterError("upnp.no_response", action=action)


def fault(body: bytes) -> tuple[int, str]:
    """(errorCode, errorDescription) of a UPnP fault; (0, '') when there is none."""
    try:
        root = parse_xml(body)
    except RouterError:
        return 0, ""
    fields = {_local(el.tag): (el.text or "").strip() for el in root.iter()}
    code = fields.get("errorCode", "")
    return (int(code), fields.get("errorDescription", "")[:80]) if code.isdigit() else (0, "")


def fault_error(code: int, description: str) -> RouterError:
    """The plain-words error for a fault code."""
    if code in FAULTS:
        return RouterError(f"fault.{code}", manual=FAULTS[code], code=str(code))
    if description:
        return RouterError("fault.unknown", manual=True, code=str(code), n=code, text=description)
    return RouterError("fault.unknown_bare", manual=True, code=str(code), n=code)
