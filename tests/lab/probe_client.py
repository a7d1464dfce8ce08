"""A lab client: try several TCP/UDP connections at once, print one JSON answer each.

Run inside a namespace: ``python3 probe_client.py TIMEOUT '[["tcp", "11.0.0.1", 8080,
null, 1], ...]'`` (proto, address, port, source address or null, UDP exchanges). Prints a
JSON list of ``{"ok": bool, "text": last answer or error}`` in the same order. Stdlib only.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def _error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    return f"{type(exc).__name__}: {exc}"


GAP = 0.2  # seconds between UDP exchanges of one flow


def probe(
    proto: str, host: str, port: int, source: str | None, repeat: int, timeout: float
) -> dict:
    """One connection (TCP) or `repeat` datagrams of one flow (UDP); answer or error."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    try:
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.settimeout(timeout)
            if source:
                sock.bind((source, 0))
            sock.connect((host, port))
            if proto == "tcp":
                data = sock.recv(2048)
            for i in range(repeat if proto == "udp" else 0):
                if i:
                    time.sleep(GAP)
                sock.send(b"hello\n")
                data = sock.recv(2048)
    except OSError as exc:
        return {"ok": False, "text": _error(exc)}
    text = data.decode(errors="replace").strip()
    return {"ok": bool(text), "text": text or "closed without an answer"}


def main(argv: list[str]) -> int:
    timeout = float(argv[1])
    probes = json.loads(argv[2])
    with ThreadPoolExecutor(max_workers=max(1, len(probes))) as pool:
        futures = [pool.submit(probe, *p, timeout) for p in probes]
        print(json.dumps([f.result() for f in futures]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
