"""A fake UPnP device for the lab: it answers every SSDP search with a LOCATION of our
choice (and serves nothing there). Stdlib only.

Run inside a namespace: ``python3 ssdp_impostor.py <interface address> <location>``.
Prints ``ready`` once it listens.
"""

from __future__ import annotations

import socket
import struct
import sys

GROUP = "239.255.255.250"


def main(iface_ip: str, location: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", 1900))
    membership = struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton(iface_ip))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    print("ready", flush=True)
    while True:
        data, peer = sock.recvfrom(2048)
        lines = data.decode("latin-1").split("\r\n")
        if not lines[0].startswith("M-SEARCH"):
            continue
        st = next((ln.split(":", 1)[1].strip() for ln in lines if ln.upper().startswith("ST:")), "")
        answer = (
            "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
            f"ST: {st}\r\nUSN: uuid:impostor::{st}\r\nEXT:\r\n"
            f"LOCATION: {location}\r\nSERVER: impostor UPnP/1.1\r\n\r\n"
        )
        sock.sendto(answer.encode(), peer)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
