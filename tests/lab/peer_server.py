"""A TCP/UDP server for the lab: it answers with the address and local port it saw.

Run inside a namespace: ``python3 peer_server.py --tcp 9000-9099 --udp 9000-9099``.
Every TCP connection and every UDP datagram gets one line,
``peer=<ip> port=<local port> host=<--host>`` (or the fixed ``--text``).
It prints ``ready`` once every socket is bound; stdlib only.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import sys


def parse_ports(text: str) -> list[int]:
    """``"80,9000-9009"`` → [80, 9000, ..., 9009]."""
    ports: list[int] = []
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        ports += range(int(first), int(last or first) + 1)
    return ports


def _answer(text: str | None, host: str, peer: str, port: int) -> bytes:
    return ((text or f"peer={peer} port={port} host={host}") + "\n").encode()


def serve(
    tcp: list[int], udp: list[int], text: str | None, host: str, tcp6: list[int] | None = None
) -> None:
    """Bind every port (`tcp6`: IPv6 only, on every address), say ``ready``, answer
    forever."""
    sel = selectors.DefaultSelector()
    for port in tcp6 or ():
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::", port))
        sock.listen(64)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, "tcp")
    for port in tcp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))
        sock.listen(64)
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, "tcp")
    for port in udp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("0.0.0.0", port))
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, "udp")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            local_port = sock.getsockname()[1]
            try:
                if key.data == "tcp":
                    conn, (peer, *_) = sock.accept()
                    with conn:
                        conn.settimeout(1)
                        conn.sendall(_answer(text, host, peer, local_port))
                else:
                    _, (peer, peer_port) = sock.recvfrom(2048)
                    sock.sendto(_answer(text, host, peer, local_port), (peer, peer_port))
            except OSError:
                continue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tcp", default="", help="ports and ranges, e.g. 80,9000-9099")
    parser.add_argument("--udp", default="", help="ports and ranges")
    parser.add_argument("--text", default=None, help="a fixed answer instead of peer/port")
    parser.add_argument("--host", default="-", help="the name this server gives itself")
    parser.add_argument("--tcp6", default="", help="IPv6 TCP ports and ranges (any address)")
    args = parser.parse_args(argv)
    try:
        tcp6 = parse_ports(args.tcp6)
        serve(parse_ports(args.tcp), parse_ports(args.udp), args.text, args.host, tcp6)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
