"""The package's TOML data files (message catalogues, vendor profiles), read fast.

Parsing TOML in Python costs milliseconds per file here and ten times that on a router,
at every start of the CLI. A parsed file is therefore kept where Python keeps bytecode
(see _cache_path), as marshal data together with the exact bytes it was parsed from; it
is used only when those bytes equal the file's (so it is never stale, whatever the clocks
say) and made anew otherwise. Where that cannot be written, the file is parsed each time.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from pathlib import Path
from typing import Any


def _cache_path(path: Path) -> Path:
    """Where Python would keep the file's bytecode: __pycache__ beside it, or below
    sys.pycache_prefix when one is set (the router's wrapper sets one in RAM, so that
    nothing is written to flash)."""
    tag = sys.implementation.cache_tag or "py"  # marshal's format follows the interpreter
    name = f"{path.name}.{tag}.marshal"
    if sys.pycache_prefix:
        folder = Path(os.path.abspath(path.parent))
        return Path(sys.pycache_prefix, *folder.parts[1:], name)
    return path.parent / "__pycache__" / name


def _cached(cache: Path, source: bytes) -> dict[str, Any] | None:
    try:
        made_from, data = marshal.loads(cache.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return data if made_from == source and isinstance(data, dict) else None


def _keep(cache: Path, source: bytes, data: dict[str, Any]) -> None:
    """Write the cache atomically; quietly nothing where that is not possible (a read-only
    folder, or a value marshal cannot keep, such as a TOML date)."""
    tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    try:
        blob = marshal.dumps((source, data))
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(blob)
        os.replace(tmp, cache)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML file at `path` (tomllib's errors if it is not TOML)."""
    source = path.read_bytes()
    cache = _cache_path(path)
    data = _cached(cache, source)
    if data is None:
        import tomllib

        data = tomllib.loads(source.decode("utf-8"))
        _keep(cache, source, data)
    return data
