"""The UPnP client: SOAP and fault sentences, SSDP answers, the device description, and
the client over real HTTP against a small IGD on 127.0.0.1 (the lab runs miniupnpd)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest
from mainrouter_fakes import fwd
from mainrouter_igd import FakeIgd, Mapping, description

from dualnat.mainrouter import ssdp
from dualnat.mainrouter.errors import RouterError
from dualnat.mainrouter.model import State, expand
from dualnat.mainrouter.push import push, remove
from dualnat.mainrouter.soap import envelope, fault, fault_error, parse_response
from dualnat.mainrouter.upnp import Igd, UpnpClient, parse_description

LOCAL = IPv4Address("127.0.0.1")
ROUTER = IPv4Address("192.168.1.1")
IP2 = "urn:schemas-upnp-org:service:WANIPConnection:2"
IP1 = "urn:schemas-upnp-org:service:WANIPConnection:1"
PPP = "urn:schemas-upnp-org:service:WANPPPConnection:1"


# -- SOAP --------------------------------------------------------------------------------


def test_envelope_escapes_values_and_keeps_argument_order() -> None:
    body = envelope(IP1, "AddPortMapping", [("B", "x<&>y"), ("A", "1")]).decode()
    assert f'<u:AddPortMapping xmlns:u="{IP1}"><B>x&lt;&amp;&gt;y</B><A>1</A>' in body


def test_response_and_fault_parsing() -> None:
    ok = (
        b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>"
        b"<u:GetExternalIPAddressResponse xmlns:u='x'><NewExternalIPAddress>1.2.3.4"
        b"</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>"
    )
    assert parse_response(ok, "GetExternalIPAddress") == {"NewExternalIPAddress": "1.2.3.4"}
    bad = (
        b"<a><UPnPError><errorCode>606</errorCode>"
        b"<errorDescription>nope</errorDescription></UPnPError></a>"
    )
    assert fault(bad) == (606, "nope")
    assert fault(b"not xml") == (0, "")
    with pytest.raises(RouterError, match="DOCTYPE"):
        parse_response(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>", "X")


def test_each_fault_code_has_its_sentence() -> None:
    err = fault_error(606, "Action not authorized")
    assert "1024" in err.reason and err.manual and err.code == "606"
    assert "another host" in fault_error(718, "").reason
    assert "public address" in fault_error(501, "").reason
    assert "permanent" in fault_error(725, "").reason
    unknown = fault_error(799, "Weird")
    assert unknown.reason == "the main router refused (UPnP error 799: Weird)"


# -- SSDP and the description ------------------------------------------------------------


ANSWER = (
    b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
    b"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
    b"Location: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n"
)


def test_only_the_main_routers_own_answer_is_taken() -> None:
    answer = ssdp.parse(ANSWER, ROUTER)
    assert answer and answer.location == "http://192.168.1.1:5000/rootDesc.xml"
    assert answer.is_from(ROUTER)
    # the bypass router's own IGD, or any LAN host naming the main router
    assert not ssdp.parse(ANSWER, IPv4Address("192.168.1.2")).is_from(ROUTER)  # type: ignore[union-attr]
    elsewhere = ANSWER.replace(b"192.168.1.1:5000", b"192.168.1.2:5000")
    assert not ssdp.parse(elsewhere, ROUTER).is_from(ROUTER)  # type: ignore[union-attr]
    assert ssdp.parse(b"NOTIFY * HTTP/1.1\r\n\r\n", ROUTER) is None
    assert ssdp.parse(ANSWER.replace(b"Location", b"X"), ROUTER) is None


@pytest.mark.parametrize(
    ("services", "chosen"),
    [
        ([(IP1, "/ctl/1"), (IP2, "/ctl/2")], IP2),
        ([(PPP, "/ppp"), (IP1, "/ip")], IP1),
        ([(PPP, "/ppp")], PPP),
    ],
)
def test_the_service_type_comes_from_the_description(
    services: list[tuple[str, str]], chosen: str
) -> None:
    loc = "http://192.168.1.1:5000/rootDesc.xml"
    igd = parse_description(description(services), loc, ROUTER)
    assert igd.service == chosen
    assert igd.control_url == "http://192.168.1.1:5000" + dict(services)[chosen]


def test_description_urls_must_stay_on_the_main_router() -> None:
    loc = "http://192.168.1.1:5000/rootDesc.xml"
    based = description([(IP1, "ctl")], base="http://192.168.1.1:4444/")
    assert parse_description(based, loc, ROUTER).control_url == "http://192.168.1.1:4444/ctl"
    with pytest.raises(RouterError, match=r"not 192\.168\.1\.1"):
        parse_description(description([(IP1, "http://192.168.1.9/ctl")]), loc, ROUTER)
    with pytest.raises(RouterError, match="no WAN connection service") as err:
        parse_description(description([]), loc, ROUTER)
    assert err.value.manual


# -- the client over HTTP ----------------------------------------------------------------


@pytest.fixture
def igd() -> Iterator[FakeIgd]:
    server = FakeIgd()
    yield server
    server.close()


def client_for(server: FakeIgd, lease: int = 0) -> UpnpClient:
    control = server.location.replace("/rootDesc.xml", "/ctl/IPConn")
    return UpnpClient(LOCAL, LOCAL, lease=lease, igd=Igd(server.location, server.service, control))


def local(name: str, ext: str, proto: str = "tcp") -> object:
    f = fwd(name, ext, proto)
    return type(f)(f.name, f.proto, f.external_port, LOCAL, f.internal_port)


def test_push_list_delete_with_the_service_type_of_the_description(igd: FakeIgd) -> None:
    igd.service = IP1
    client = client_for(igd)
    report = push(client, [local("web", "9000"), local("rng", "9010-9011", "tcpudp")])  # type: ignore[list-item]
    assert [o.state for o in report.outcomes] == [State.ADDED, State.ADDED]
    assert sorted(igd.mappings) == [
        ("TCP", 9000),
        ("TCP", 9010),
        ("TCP", 9011),
        ("UDP", 9010),
        ("UDP", 9011),
    ]
    assert igd.mappings[("TCP", 9000)].description == "dualnat web"
    assert {soap for soap, _ in igd.actions} == {f'"{IP1}#{a}"' for _, a in igd.actions}
    assert [o.state for o in push(client, [local("web", "9000")]).outcomes] == [
        State.IN_PLACE,
        State.REMOVED,
    ]
    assert sorted(igd.mappings) == [("TCP", 9000)]
    assert client.external_address() == IPv4Address("11.0.0.1")


def test_a_users_mapping_is_never_taken_over(igd: FakeIgd) -> None:
    # made by hand from the bypass router itself: AddPortMapping would succeed and keep
    # the user's description, so the client must check first
    igd.mappings[("TCP", 9000)] = Mapping("127.0.0.1", 9000, "my game", 604800)
    client = client_for(igd)
    (web,) = push(client, [local("web", "9000")]).outcomes  # type: ignore[list-item]
    assert web.state is State.FAILED and web.manual and "'my game'" in web.reason
    assert "AddPortMapping" not in [a for _, a in igd.actions]
    remove(client)
    assert igd.mappings[("TCP", 9000)].description == "my game"


def test_an_empty_external_address_means_none(igd: FakeIgd) -> None:
    """miniupnpd answers an empty address when its own WAN address is private or
    reserved (it sits behind another NAT)."""
    igd.external_ip = ""
    assert client_for(igd).external_address() is None


def test_add_checks_the_port_first(igd: FakeIgd) -> None:
    """A mapping made after the listing (the race reconcile cannot see) is not taken
    over either: re-adding it would succeed and keep the user's description."""
    client = client_for(igd)
    igd.mappings[("TCP", 9000)] = Mapping("127.0.0.1", 9000, "my game", 604800)
    (want,) = expand(local("web", "9000"), UpnpClient.shape)  # type: ignore[arg-type]
    with pytest.raises(RouterError, match="'my game'") as err:
        client.add(want)
    assert err.value.code == "718" and err.value.manual
    assert [a for _, a in igd.actions] == ["GetSpecificPortMappingEntry"]
    igd.mappings[("TCP", 9000)] = Mapping("127.0.0.1", 9000, "dualnat web", 60)
    client.add(want)  # dualnat's own: added again, which renews it
    assert igd.mappings[("TCP", 9000)].lease == 604800


def test_refusals_are_per_forward_sentences(igd: FakeIgd) -> None:
    client = client_for(igd)
    http, ok = push(client, [local("http", "80"), local("ok", "8080")]).outcomes  # type: ignore[list-item]
    assert http.state is State.FAILED and "1024" in http.reason and http.manual
    assert ok.state is State.ADDED


def test_only_permanent_leases_are_retried_with_lease_zero(igd: FakeIgd) -> None:
    igd.only_permanent = True
    client = client_for(igd, lease=3600)
    (web,) = push(client, [local("web", "9000")]).outcomes  # type: ignore[list-item]
    assert web.state is State.ADDED
    assert [a for _, a in igd.actions].count("AddPortMapping") == 2


@pytest.mark.parametrize(
    ("service", "listing", "used"),
    [
        (IP2, True, "GetListOfPortMappings"),
        (IP1, True, "GetGenericPortMappingEntry"),  # IGDv1 has no list action
        (IP2, False, "GetGenericPortMappingEntry"),  # refused: one request per mapping
    ],
)
def test_listing_uses_the_v2_list_when_it_can(
    igd: FakeIgd, monkeypatch: pytest.MonkeyPatch, service: str, listing: bool, used: str
) -> None:
    monkeypatch.setattr("dualnat.mainrouter.upnp.LIST_PAGE", 2)  # pages of two
    igd.service, igd.listing = service, listing
    for port in (9000, 9001, 9002):
        igd.mappings[("TCP", port)] = Mapping("127.0.0.1", port, f"dualnat f{port}&co", 3600)
    igd.mappings[("UDP", 5000)] = Mapping("10.0.0.9", 5001, "user", 0)
    found = client_for(igd).entries()
    assert sorted((e.protocols, e.external.first, e.tag, e.lease) for e in found) == [
        (("tcp",), 9000, "dualnat f9000&co", 3600),
        (("tcp",), 9001, "dualnat f9001&co", 3600),
        (("tcp",), 9002, "dualnat f9002&co", 3600),
        (("udp",), 5000, "user", 0),
    ]
    (user,) = [e for e in found if not e.ours]
    assert (str(user.target_ip), user.target.first) == ("10.0.0.9", 5001)  # type: ignore[union-attr]
    actions = {a for _, a in igd.actions}
    assert used in actions
    if listing and service == IP2:
        assert "GetGenericPortMappingEntry" not in actions


def test_a_mapping_that_is_already_gone_deletes_fine(igd: FakeIgd) -> None:
    client = client_for(igd)
    push(client, [local("web", "9000")])  # type: ignore[list-item]
    entry = client.entries()[0]
    igd.mappings.clear()
    client.delete(entry)  # 714: already gone


def test_a_router_that_does_not_answer_is_a_failure_per_forward() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here
    url = f"http://127.0.0.1:{port}/ctl"
    client = UpnpClient(LOCAL, LOCAL, timeout=1, igd=Igd(url, IP1, url))
    report = push(client, [local("web", "9000"), local("ssh", "2222")])  # type: ignore[list-item]
    assert [o.state for o in report.outcomes] == [State.FAILED, State.FAILED]
    assert (
        report.outcomes[0].reason
        == "the main router at 127.0.0.1 refused the connection (its UPnP service)"
    )


def test_requests_go_to_the_main_router_only() -> None:
    client = UpnpClient(LOCAL, ROUTER, igd=Igd("x", IP1, "http://192.168.1.9/ctl"))
    with pytest.raises(RouterError, match=r"anywhere but 192\.168\.1\.1"):
        client.call("GetExternalIPAddress")
