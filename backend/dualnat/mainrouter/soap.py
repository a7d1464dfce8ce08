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
# code → (what it means for the forward, whether the user has to act on the main router)
FAULTS: dict[int, tuple[str, bool]] = {
    401: ("the main router's UPnP service does not offer this action", True),
    402: ("the main router rejected the request's values as invalid", False),
    501: (
        "the main router's UPnP service could not do it (often it has no public address "
        "itself, for example behind another router or carrier-grade NAT)",
        True,
    ),
    606: (
        "the main router does not allow this mapping: the port is outside its UPnP "
        "permission rules (OpenWrt's defaults allow only ports 1024-65535); use an "
        "external port of 1024 or more, or forward this port by hand",
        True,
    ),
    713: ("the main router has no mapping at that index", False),
    714: ("the main router has no such mapping", False),
    715: ("the main router does not accept a wildcard source address", False),
    716: ("the main router does not accept a wildcard external port", False),
    718: (
        "the main router already maps this port to another host (or, in secure mode, "
        "lets a host map ports only to itself); free the port there or choose another "
        "external port",
        True,
    ),
    724: ("the main router needs the same external and internal port", True),
    725: ("the main router accepts only permanent mappings", False),
    726: ("the main router does not accept a specific remote host", False),
    727: ("the main router does not accept a specific external port", True),
    728: ("the main router has no port mappings left", True),
    729: (
        "the port is already used by the main router itself (its own port forward or "
        "service); free it there or choose another external port",
        True,
    ),
    732: ("the main router does not accept a wildcard internal port", False),
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
        raise RouterError("the main router sent an XML answer with a DOCTYPE; refused")
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        raise RouterError("the main router sent an answer that is not XML") from None


def parse_response(body: bytes, action: str) -> dict[str, str]:
    """The `<action>Response` element's children, by name."""
    root = parse_xml(body)
    for el in root.iter():
        if _local(el.tag) == f"{action}Response":
            return {_local(c.tag): (c.text or "").strip() for c in el}
    raise RouterError(f"the main router's answer to {action} has no {action}Response")


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
    text, manual = FAULTS.get(
        code, (f"the main router refused (UPnP error {code}: {description or 'no reason'})", True)
    )
    return RouterError(text, manual=manual, code=str(code))
