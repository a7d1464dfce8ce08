"""The lab's addresses, devices and hosts (one place, used by topology, rules and scenarios)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

# Internet segment: the main router's WAN address is "the public address". Not a
# documentation block (198.51.100.0/24 and its kind): transparent proxies skip those as
# reserved (a proxy test would never see the capture) and miniupnpd refuses a reserved
# WAN address. 11.0.0.0/8 is ordinary public unicast space, private to this lab.
WAN = IPv4Network("11.0.0.0/24")
PUBLIC_IP = IPv4Address("11.0.0.1")
INET_CLIENT = IPv4Address("11.0.0.10")
INET_CLIENT_ALT = IPv4Address("11.0.0.11")  # second source address of the client
INET_SERVER = IPv4Address("11.0.0.20")
# The Internet does not route private addresses (seed 002, step ⑤ "daddr=192.168.1.123 ???").
UNROUTED = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")

LAN = IPv4Network("192.168.1.0/24")
MAIN_LAN_IP = IPv4Address("192.168.1.1")
BYPASS_IP = IPv4Address("192.168.1.2")
TARGET_VIA_BYPASS = IPv4Address("192.168.1.50")
TARGET_VIA_MAIN = IPv4Address("192.168.1.51")
TARGET_RANGE = IPv4Address("192.168.1.52")
WIRED_CLIENT = IPv4Address("192.168.1.60")
WIFI_CLIENT = IPv4Address("192.168.1.61")
# Only the ICMP-redirect scenario uses these two (the kernel rate-limits redirects per host).
TARGET_REDIRECT = IPv4Address("192.168.1.53")
REDIRECT_CLIENT = IPv4Address("192.168.1.62")

LAN_DEVICE = "lan0"  # the bypass router's only interface (NetworkState.lan_device)
WAN_DEVICE = "wan0"  # the main router's WAN interface
MAIN_BRIDGE = "br-lan"  # the main router's LAN bridge (Wi-Fi port + switch uplink)

TARGET_PORTS = "9000-9099"  # every target answers on these, TCP and UDP
INTERNET_SERVER_PORT = 9000
BYPASS_SERVICE_PORT = 80
BYPASS_SERVICE_TEXT = "bypass-own-service"


@dataclass(frozen=True)
class Host:
    """An end host: where it plugs in, its addresses, its gateway and its services."""

    role: str
    segment: str  # "wan" switch, "lan" switch, or "wifi" (a port of the main router's br-lan)
    addresses: tuple[IPv4Address, ...]
    gateway: IPv4Address
    tcp: str = ""
    udp: str = ""


HOSTS: tuple[Host, ...] = (
    Host("inet", "wan", (INET_CLIENT, INET_CLIENT_ALT), PUBLIC_IP),
    Host(
        "isrv",
        "wan",
        (INET_SERVER,),
        PUBLIC_IP,
        str(INTERNET_SERVER_PORT),
        str(INTERNET_SERVER_PORT),
    ),
    Host("t50", "lan", (TARGET_VIA_BYPASS,), BYPASS_IP, TARGET_PORTS, TARGET_PORTS),
    Host("t51", "lan", (TARGET_VIA_MAIN,), MAIN_LAN_IP, TARGET_PORTS, TARGET_PORTS),
    Host("t52", "lan", (TARGET_RANGE,), BYPASS_IP, TARGET_PORTS, TARGET_PORTS),
    Host("t53", "lan", (TARGET_REDIRECT,), BYPASS_IP, TARGET_PORTS, TARGET_PORTS),
    Host("c60", "lan", (WIRED_CLIENT,), BYPASS_IP),
    Host("c61", "wifi", (WIFI_CLIENT,), BYPASS_IP),
    Host("c62", "lan", (REDIRECT_CLIENT,), BYPASS_IP),
)
ROLE_OF = {a: h.role for h in HOSTS for a in h.addresses}
