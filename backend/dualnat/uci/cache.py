"""Parsed config files kept between reads, keyed by the file's identity and times.

The daemon answers LuCI's calls (the overview polls `status`) by reading the same UCI
files again and again; a file that did not change is not parsed again. A file counts as
unchanged when its device, inode, size, mtime and ctime are what they were: a rename
over it (libuci's commit, dualnat's own atomic writes) gives a new inode, an edit in
place a new mtime and ctime.

Timestamps have a granularity (a kernel tick), so a file changed twice within one tick,
keeping its size, keeps its times. Like git's index, a file whose mtime was that recent
when it was read is "racy": until it has been seen with an older mtime, its bytes are
read again on every read and compared with the ones that were parsed, so the cache is
never stale. A read returns a copy of the document: callers may edit it freely.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .document import Document

# mtimes this close to the time of reading are not trusted yet (far above a kernel tick
# and the 2 s of the coarsest file systems)
RACY_NS = 3_000_000_000
StatKey = tuple[int, int, int, int, int]


@dataclass
class _Entry:
    key: StatKey
    doc: Document
    data: bytes | None  # the bytes parsed, kept only while the file is racy


def _key(st: os.stat_result) -> StatKey:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class DocumentCache:
    """Documents of the files read so far, by path (`decode` turns bytes into text)."""

    def __init__(self, decode: Callable[[bytes], str]) -> None:
        self._decode = decode
        self._entries: dict[Path, _Entry] = {}
        self.parses = 0  # how many times a file was parsed (for tests and figures)

    def read(self, path: Path) -> Document:
        """The document of `path` (empty when the file does not exist)."""
        now = time.time_ns()
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._entries.pop(path, None)
            return Document.parse("", str(path))
        key = _key(st)
        entry = self._entries.get(path)
        if entry is not None and entry.key == key and entry.data is None:
            return entry.doc.copy()
        data = path.read_bytes()
        if entry is not None and entry.data is not None and entry.data == data:
            doc = entry.doc
        else:
            doc = Document.parse(self._decode(data), str(path))
            self.parses += 1
        racy = st.st_mtime_ns >= now - RACY_NS
        self._entries[path] = _Entry(key, doc, data if racy else None)
        return doc.copy()

    def forget(self, path: Path) -> None:
        """Drop what is kept of `path` (after writing it)."""
        self._entries.pop(path, None)
