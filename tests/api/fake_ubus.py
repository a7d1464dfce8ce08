"""A stand-in for python-ubus (module ``ubus``; python3-ubus on OpenWrt) with its rules.

The real bindings need libubus and cannot be installed on Debian. This module has the
same module-level functions and enforces what bites on the router:

* ``add(name, methods)``: every method is ``{"method": callable, "signature": {arg:
  BLOBMSG_TYPE_*}}`` with exactly those two keys (TypeError otherwise);
* a call is accepted only when every argument it carries is declared, with the blobmsg
  type its JSON value converts to (bool → BOOL, int → INT32 or INT64, float → DOUBLE,
  str → STRING, dict → TABLE, list → ARRAY, None → UNSPEC; a declared UNSPEC accepts any
  type), and every declared argument is present; otherwise status 2, Invalid argument;
* the callback gets ``(handler, data)``; ``handler.reply()`` takes only a dict that
  converts to JSON (TypeError otherwise), only during the callback; an exception in the
  callback gives status 9;
* ``call()`` returns the list of replies and raises ``RuntimeError("ubus error occured:
  <text>")`` on a non-zero status.

Calls reach an object in two ways: ``call()`` in the same process (``connect(LOCAL)``),
or a :class:`Broker`, a stand-in for ubusd on a Unix socket, in another process: the
daemon ``connect(path)``s to it and ``loop()`` serves the calls the broker sends.
"""

from __future__ import annotations

import json
import os
import select
import socket
import stat
import time
from collections.abc import Callable
from typing import Any

BLOBMSG_TYPE_UNSPEC = 0
BLOBMSG_TYPE_ARRAY = 1
BLOBMSG_TYPE_TABLE = 2
BLOBMSG_TYPE_STRING = 3
BLOBMSG_TYPE_INT64 = 4
BLOBMSG_TYPE_INT32 = 5
BLOBMSG_TYPE_INT16 = 6
BLOBMSG_TYPE_INT8 = 7
BLOBMSG_TYPE_BOOL = 7
BLOBMSG_TYPE_DOUBLE = 8

STATUS_OK = 0
STATUS_INVALID_ARGUMENT = 2
STATUS_METHOD_NOT_FOUND = 3
STATUS_NOT_FOUND = 4
STATUS_UNKNOWN_ERROR = 9
STATUS_TEXT = {
    0: "Success",
    1: "Invalid command",
    2: "Invalid argument",
    3: "Method not found",
    4: "Not found",
    5: "No response",
    6: "Permission denied",
    7: "Request timed out",
    8: "Operation not supported",
    9: "Unknown error",
    10: "Connection failed",
}
MAX_MSGLEN = 1048576  # ubusd's UBUS_MAX_MSGLEN
DEFAULT_SOCKET = "/var/run/ubus/ubus.sock"
LOCAL = "fake:local"  # connect() here for in-process calls without a broker

_state: dict[str, Any] = {"path": None, "sock": None, "buffer": b"", "objects": {}}


class UbusError(RuntimeError):
    """What the real call() raises; `status` is the ubus status code."""

    def __init__(self, status: int) -> None:
        super().__init__(f"ubus error occured: {STATUS_TEXT.get(status, 'Unknown error')}")
        self.status = status


def blob_type(value: Any) -> int:
    """The blobmsg type libubox gives a JSON value (blobmsg_add_json_element)."""
    if value is None:
        return BLOBMSG_TYPE_UNSPEC
    if isinstance(value, bool):
        return BLOBMSG_TYPE_BOOL
    if isinstance(value, int):
        return BLOBMSG_TYPE_INT32 if -(2**31) <= value < 2**31 else BLOBMSG_TYPE_INT64
    if isinstance(value, float):
        return BLOBMSG_TYPE_DOUBLE
    if isinstance(value, str):
        return BLOBMSG_TYPE_STRING
    if isinstance(value, dict):
        return BLOBMSG_TYPE_TABLE
    if isinstance(value, list):
        return BLOBMSG_TYPE_ARRAY
    raise TypeError("Failed to create json for ubus.")


def test_policies(signature: dict[str, int], data: dict[str, Any]) -> bool:
    """python-ubus's check: declared arguments only, right types, none missing."""
    for name, value in data.items():
        if name not in signature:
            return False
        wanted = signature[name]
        if wanted != BLOBMSG_TYPE_UNSPEC and wanted != blob_type(value):
            return False
    return all(name in data for name in signature)


class Handler:
    """The object a callback replies through; valid only while the callback runs."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        self.valid = True

    def reply(self, data: Any) -> None:
        if not self.valid:
            raise RuntimeError("Reply handler is not valid anymore.")
        if not isinstance(data, dict):
            raise TypeError("Failed to create json for ubus.")
        text = json.dumps(data)  # TypeError for values JSON has no form for
        if len(text.encode()) > MAX_MSGLEN:
            raise RuntimeError("ubus error occured: reply larger than ubusd's message limit")
        self.replies.append(json.loads(text))


def _require_connected() -> None:
    if _state["path"] is None:
        raise RuntimeError("You are not connected to ubus.")


def connect(socket_path: str = DEFAULT_SOCKET) -> bool:
    if _state["path"] is not None:
        raise RuntimeError("Already connected.")
    if socket_path != LOCAL:
        try:
            is_socket = stat.S_ISSOCK(os.stat(socket_path).st_mode)
        except OSError:
            is_socket = False
        if not is_socket:
            raise OSError(f"Failed to connect to the ubus socket '{socket_path}'")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(socket_path)
        _state["sock"] = sock
    _state["path"] = socket_path
    return True


def disconnect(deregister: bool = True) -> None:
    _require_connected()
    if _state["sock"] is not None:
        _state["sock"].close()
    _state.update(path=None, sock=None, buffer=b"")
    if deregister:
        _state["objects"] = {}


def get_connected() -> bool:
    return _state["path"] is not None


def get_socket_path() -> str | None:
    return _state["path"]


def add(object_name: str, methods: dict[str, Any]) -> None:
    _require_connected()
    if not isinstance(object_name, str) or not isinstance(methods, dict):
        raise TypeError("add(object_name: str, methods: dict)")
    if object_name in _state["objects"]:
        raise RuntimeError("ubus error occured: Invalid argument")
    checked: dict[str, tuple[Callable[..., Any], dict[str, int]]] = {}
    for name, spec in methods.items():
        if not isinstance(spec, dict) or set(spec) != {"method", "signature"}:
            raise TypeError(f"method '{name}': needs exactly the keys 'method' and 'signature'")
        if not callable(spec["method"]):
            raise TypeError(f"method '{name}': 'method' is not callable")
        sig = spec["signature"]
        if not isinstance(sig, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and 0 <= v <= 8 for k, v in sig.items()
        ):
            raise TypeError(f"method '{name}': the signature maps names to BLOBMSG_TYPE_*")
        checked[name] = (spec["method"], dict(sig))
    _state["objects"][object_name] = checked
    if _state["sock"] is not None:
        signatures = {name: sig for name, (_, sig) in checked.items()}
        _send({"type": "add", "object": object_name, "methods": signatures})


def objects(path: str = "*") -> dict[str, dict[str, dict[str, int]]]:
    _require_connected()
    return {
        name: {m: sig for m, (_, sig) in methods.items()}
        for name, methods in _state["objects"].items()
        if path in ("*", name)
    }


def invoke(object_name: str, method: str, data: Any) -> tuple[int, list[dict[str, Any]]]:
    """Deliver one call to a registered object: (status, replies)."""
    methods = _state["objects"].get(object_name)
    if methods is None:
        return STATUS_NOT_FOUND, []
    if method not in methods:
        return STATUS_METHOD_NOT_FOUND, []
    callback, signature = methods[method]
    if not isinstance(data, dict):
        return STATUS_INVALID_ARGUMENT, []
    data = json.loads(json.dumps(data))  # what survives the JSON → blobmsg → JSON trip
    if not test_policies(signature, data):
        return STATUS_INVALID_ARGUMENT, []
    handler = Handler()
    try:
        callback(handler, data)
    except Exception:
        return STATUS_UNKNOWN_ERROR, []
    finally:
        handler.valid = False
    return STATUS_OK, handler.replies


def call(object_name: str, method: str, arguments: dict[str, Any], timeout: int = 0) -> list:
    """An in-process call, as `ubus call` would make it; UbusError on a non-zero status."""
    _require_connected()
    if not isinstance(arguments, dict):
        raise TypeError("arguments must be a dict")
    if object_name not in _state["objects"]:
        raise RuntimeError(f"Object '{object_name}' was not found.")
    status, replies = invoke(object_name, method, arguments)
    if status != STATUS_OK:
        raise UbusError(status)
    return replies


def _send(message: dict[str, Any]) -> None:
    _state["sock"].sendall(json.dumps(message).encode() + b"\n")


def _serve_lines() -> bool:
    """Read what the broker sent and answer every complete call; False on EOF."""
    chunk = _state["sock"].recv(1 << 16)
    if not chunk:
        return False
    _state["buffer"] += chunk
    while b"\n" in _state["buffer"]:
        line, _state["buffer"] = _state["buffer"].split(b"\n", 1)
        msg = json.loads(line)
        status, replies = invoke(msg["object"], msg["method"], msg["data"])
        _send({"type": "result", "id": msg["id"], "status": status, "replies": replies})
    return True


def loop(timeout: int = -1) -> None:
    """Serve calls for `timeout` ms (-1: until the connection ends)."""
    _require_connected()
    deadline = None if timeout < 0 else time.monotonic() + timeout / 1000
    sock = _state["sock"]
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if sock is None:
            time.sleep(left if left is not None else 0.1)
        else:
            ready, _, _ = select.select([sock], [], [], left)
            if ready and not _serve_lines():
                sock = None
        if deadline is not None and time.monotonic() >= deadline:
            return


class Broker:
    """A stand-in for ubusd: one client (the daemon) on a Unix socket, calls sent to it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.conn: socket.socket | None = None
        self.objects: dict[str, dict[str, dict[str, int]]] = {}
        self._buffer = b""
        self._next_id = 0

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self.conn is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.conn], [], [], left)[0]:
                raise TimeoutError("no answer from the daemon")
            chunk = self.conn.recv(1 << 16)
            if not chunk:
                raise ConnectionError("the daemon closed the connection")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def wait_for(self, object_name: str, timeout: float = 60.0) -> None:
        """Accept the daemon and wait until it has added `object_name`."""
        self.server.settimeout(timeout)
        self.conn, _ = self.server.accept()
        while object_name not in self.objects:
            msg = self._read(timeout)
            if msg["type"] == "add":
                self.objects[msg["object"]] = msg["methods"]

    def call(self, object_name: str, method: str, data: dict[str, Any], timeout: float = 30.0):
        """Like `ubus call`: the replies, or UbusError with the status."""
        if object_name not in self.objects:
            raise RuntimeError(f"Object '{object_name}' was not found.")
        assert self.conn is not None
        self._next_id += 1
        msg = {"id": self._next_id, "object": object_name, "method": method, "data": data}
        self.conn.sendall(json.dumps(msg).encode() + b"\n")
        answer = self._read(timeout)
        if answer["status"] != STATUS_OK:
            raise UbusError(answer["status"])
        return answer["replies"]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.server.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
