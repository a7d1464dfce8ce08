"""A stand-in for a proxy's core (mihomo, sing-box, xray) in the lab: it takes what the
rules hand it, logs each flow, and sends it on DIRECT, so capture is visible in its log
and LAN clients' own traffic still works.

Run inside a namespace: ``python3 proxy_core.py --log FILE [--redirect PORT]
[--tproxy PORT] [--tun DEVICE]``; it prints ``ready`` once everything is bound.

- REDIRECT (TCP): the original destination from SO_ORIGINAL_DST; relayed by a new
  connection from this router.
- TPROXY: an IP_TRANSPARENT listener (TCP: the accepted socket's own address is the
  original destination; UDP: IP_ORIGDSTADDR); relayed from this router, UDP answers sent
  back from the original address.
- TUN: a reader on the tun device. Like a core's own TCP/IP stack it only carries flows it
  saw start: a TCP SYN opens a flow whose packets are written back into the kernel (routed
  on as if direct); any other TCP packet (a reply such as a SYN-ACK) is dropped; UDP is
  relayed from this router and the answer written back as a packet.

Log lines are JSON: {"kind", "proto", "src", "dst", "action"}. Stdlib only.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import socket
import struct
import sys
import threading
from ipaddress import IPv4Address

SO_ORIGINAL_DST = 80
IP_TRANSPARENT = 19
IP_RECVORIGDSTADDR = 20
TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
TIMEOUT = 1.5

_lock = threading.Lock()
_log_file = None


def log(kind: str, proto: str, src: tuple[str, int], dst: tuple[str, int], action: str) -> None:
    entry = {
        "kind": kind,
        "proto": proto,
        "src": f"{src[0]}:{src[1]}",
        "dst": f"{dst[0]}:{dst[1]}",
        "action": action,
    }
    with _lock:
        assert _log_file is not None
        _log_file.write(json.dumps(entry) + "\n")
        _log_file.flush()


def _sockaddr(data: bytes) -> tuple[str, int]:
    port, raw = struct.unpack_from("!2xH4s", data)
    return socket.inet_ntoa(raw), port


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(4096):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (a, b):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _relay_tcp(conn: socket.socket, dst: tuple[str, int]) -> None:
    try:
        out = socket.create_connection(dst, timeout=TIMEOUT)
    except OSError:
        conn.close()
        return
    out.settimeout(None)
    conn.settimeout(None)
    threading.Thread(target=_pipe, args=(out, conn), daemon=True).start()
    _pipe(conn, out)


def _udp_exchange(payload: bytes, dst: tuple[str, int]) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
        out.settimeout(TIMEOUT)
        try:
            out.sendto(payload, dst)
            return out.recv(4096)
        except OSError:
            return None


def serve_redirect(port: int) -> None:
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("0.0.0.0", port))
    lsock.listen(64)

    def run() -> None:
        while True:
            conn, src = lsock.accept()
            dst = _sockaddr(conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16))
            log("redirect", "tcp", src, dst, "relayed")
            threading.Thread(target=_relay_tcp, args=(conn, dst), daemon=True).start()

    threading.Thread(target=run, daemon=True).start()


def serve_tproxy(port: int, protos: str) -> None:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    if "tcp" in protos:
        tcp.bind(("0.0.0.0", port))
        tcp.listen(64)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    udp.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
    udp.setsockopt(socket.SOL_IP, IP_RECVORIGDSTADDR, 1)
    udp.bind(("0.0.0.0", port))

    def run_tcp() -> None:
        while True:
            conn, src = tcp.accept()
            dst = conn.getsockname()
            log("tproxy", "tcp", src, dst, "relayed")
            threading.Thread(target=_relay_tcp, args=(conn, dst), daemon=True).start()

    def answer(payload: bytes, src: tuple[str, int], dst: tuple[str, int]) -> None:
        reply = _udp_exchange(payload, dst)
        if reply is None:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as back:
            back.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            back.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
            try:
                back.bind(dst)
                back.sendto(reply, src)
            except OSError:
                pass

    def run_udp() -> None:
        while True:
            payload, anc, _, src = udp.recvmsg(4096, 64)
            dst = next(
                (_sockaddr(d) for lvl, typ, d in anc if (lvl, typ) == (socket.SOL_IP, 20)),
                ("0.0.0.0", 0),
            )
            log("tproxy", "udp", src, dst, "relayed")
            threading.Thread(target=answer, args=(payload, src, dst), daemon=True).start()

    if "tcp" in protos:
        threading.Thread(target=run_tcp, daemon=True).start()
    threading.Thread(target=run_udp, daemon=True).start()


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _udp_packet(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    head = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        0,
        0,
        64,
        17,
        0,
        socket.inet_aton(src[0]),
        socket.inet_aton(dst[0]),
    )
    head = head[:10] + struct.pack("!H", _checksum(head)) + head[12:]
    return head + udp


def serve_tun(device: str) -> None:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", device.encode(), IFF_TUN | IFF_NO_PI))
    flows: set[tuple[str, int, str, int]] = set()
    seen: set[tuple[str, str, int, str, int]] = set()

    def once(proto: str, key: tuple[str, int, str, int], action: str) -> None:
        if (proto, *key) not in seen:
            seen.add((proto, *key))
            log("tun", proto, key[:2], key[2:], action)

    def udp_relay(payload: bytes, src: tuple[str, int], dst: tuple[str, int]) -> None:
        reply = _udp_exchange(payload, dst)
        if reply is not None:
            os.write(fd, _udp_packet(dst, src, reply))

    def run() -> None:
        while True:
            packet = os.read(fd, 65535)
            if len(packet) < 20 or packet[0] >> 4 != 4:
                continue
            ihl = (packet[0] & 0x0F) * 4
            proto = packet[9]
            src_ip = str(IPv4Address(packet[12:16]))
            dst_ip = str(IPv4Address(packet[16:20]))
            if proto not in (6, 17) or len(packet) < ihl + 8:
                continue
            sport, dport = struct.unpack_from("!HH", packet, ihl)
            key = (src_ip, sport, dst_ip, dport)
            if proto == 17:
                once("udp", key, "relayed")
                payload = packet[ihl + 8 :]
                threading.Thread(
                    target=udp_relay, args=(payload, key[:2], key[2:]), daemon=True
                ).start()
                continue
            flags = packet[ihl + 13]
            if flags & 0x02 and not flags & 0x10:  # SYN without ACK: a new connection
                flows.add(key)
            if key in flows:
                once("tcp", key, "relayed")
                os.write(fd, packet)
            else:
                once("tcp", key, "dropped (not a connection the core opened)")

    threading.Thread(target=run, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    global _log_file
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True)
    parser.add_argument("--redirect", type=int)
    parser.add_argument("--tproxy", type=int)
    parser.add_argument("--tproxy-protos", default="tcp,udp", help="tcp,udp or udp")
    parser.add_argument("--tun")
    args = parser.parse_args(argv)
    _log_file = open(args.log, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as we do
    if args.redirect:
        serve_redirect(args.redirect)
    if args.tproxy:
        serve_tproxy(args.tproxy, args.tproxy_protos)
    if args.tun:
        serve_tun(args.tun)
    print("ready", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
