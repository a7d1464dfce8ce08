"""The OpenWrt packages behind the standard-library modules that luci-app-dualnat imports.

OpenWrt splits CPython's standard library: python3-light holds most of it, and modules
such as logging, email, urllib, decimal or uuid come in packages of their own
(tests/package/openwrt_stdlib.toml, taken from openwrt/packages). Every stdlib module
that the installed code imports must arrive with a package that LUCI_DEPENDS in
luci-app-dualnat/Makefile names itself: today python3-flask happens to pull in the full
`python3`, which is not ours to rely on.

The installed code is backend/dualnat and the marshmallow release bundled next to it
(the pinned wheel in build/cache, or the same version installed here). Imports inside
functions count; relative imports, imports under `if TYPE_CHECKING:` and imports inside
a `try:` that catches ImportError (the code then works without the module) do not.

python3-openssl stays optional: publicip.py asks over HTTPS only when Python has `_ssl`
(`requests` needs it for https URLs) and over HTTP otherwise, so no test requires it
unless the code imports ssl, _ssl or _hashlib itself without such a guard. hashlib does
not need it: hashlib.py is in python3-light and falls back to builtin hash modules.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "backend" / "dualnat"
MAKEFILE = ROOT / "luci-app-dualnat" / "Makefile"
CACHE = ROOT / "build" / "cache"
DATA = Path(__file__).with_name("openwrt_stdlib.toml")
OPTIONAL_TLS = "python3-openssl"
GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}

# Run in a child Python (-I -S: no site, so no .pth file imports anything first): import
# modules while the given top-level modules are hidden, as if their OpenWrt packages
# were not installed. Prints the failures as JSON.
HIDE_AND_IMPORT = r"""
import importlib, importlib.abc, json, sys, warnings
hidden, todo = json.loads(sys.stdin.read())
hidden = set(hidden)

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)
        return None

sys.meta_path.insert(0, Hide())
for name in [m for m in sys.modules if m.partition(".")[0] in hidden]:
    del sys.modules[name]  # loaded at start-up: import it again, or fail
warnings.simplefilter("ignore")
failed = []
for key, module, names in todo:
    try:
        mod = importlib.import_module(module)
        for name in names:
            if not hasattr(mod, name):
                importlib.import_module(f"{module}.{name}")
    except ImportError as exc:
        failed.append([key, exc.name or "", str(exc)])
    except Exception as exc:
        failed.append([key, "", f"{type(exc).__name__}: {exc}"])
print(json.dumps(failed))
"""


@dataclass(frozen=True)
class Import:
    module: str  # the dotted name as written: `import a.b` -> a.b, `from a.b import c` -> a.b
    names: tuple[str, ...]  # `from` imports: the imported names (some may be submodules)
    where: str  # path:line
    optional: bool  # inside a try: that catches ImportError

    @property
    def top(self) -> str:
        return self.module.partition(".")[0]

    def candidates(self) -> list[str]:
        """Every module this import may load: the parents, the module and, for `from`
        imports, module.name for each name (a submodule or just an attribute)."""
        parts = self.module.split(".")
        out = [".".join(parts[: i + 1]) for i in range(len(parts))]
        return out + [f"{self.module}.{name}" for name in self.names]

    def text(self) -> str:
        if self.names:
            return f"from {self.module} import {', '.join(self.names)}"
        return f"import {self.module}"


# --- the data and the Makefile ---------------------------------------------------------


def load_data() -> dict:
    with DATA.open("rb") as f:
        return tomllib.load(f)


def makefile_var(name: str, path: Path = MAKEFILE) -> str:
    """The value of `name` in a Makefile: `\\` continuations joined, `+=` appended."""
    text = re.sub(r"\\\n", " ", path.read_text("utf-8"))
    value = ""
    for m in re.finditer(rf"^{name}\s*([:+?]?=)[ \t]*(.*)$", text, re.M):
        value = f"{value} {m.group(2)}" if m.group(1) == "+=" else m.group(2)
    return " ".join(value.split())


def declared_packages(luci_depends: str) -> set[str]:
    """Unconditional package dependencies: `+pkg` and `pkg`; not `@SYMBOL` (a config
    symbol) nor `+SYMBOL:pkg` (only when SYMBOL is selected)."""
    words = (w.lstrip("+") for w in luci_depends.split() if not w.startswith("@"))
    return {w for w in words if w and ":" not in w}


def closure(packages: Iterable[str], requires: dict[str, list[str]]) -> set[str]:
    """`packages` and everything their DEPENDS pull in."""
    out: set[str] = set()
    todo = list(packages)
    while todo:
        pkg = todo.pop()
        if pkg not in out:
            out.add(pkg)
            todo.extend(requires.get(pkg, ()))
    return out


@dataclass(frozen=True)
class Split:
    owner: dict[str, str]  # top-level module -> the package that ships it
    needs: dict[str, set[str]]  # dotted module -> packages its import needs besides
    requires: dict[str, list[str]]
    unavailable: set[str]


def split_index(data: dict) -> Split:
    owner = {}
    for table in ("modules", "site_packages"):
        for pkg, mods in data[table].items():
            for mod in mods:
                owner[mod] = pkg
    needs: dict[str, set[str]] = {}
    for pkg, mods in data["needed_by"].items():
        for mod in mods:
            needs.setdefault(mod, set()).add(pkg)
    return Split(owner, needs, data["requires"], set(data["unavailable"]["modules"]))


@pytest.fixture(scope="module")
def data() -> dict:
    return load_data()


@pytest.fixture(scope="module")
def split(data: dict) -> Split:
    return split_index(data)


@pytest.fixture(scope="module")
def declared() -> set[str]:
    return declared_packages(makefile_var("LUCI_DEPENDS"))


# --- the imports -------------------------------------------------------------------------


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(t, ast.Name) and t.id in GUARDS)
        or (isinstance(t, ast.Attribute) and t.attr in GUARDS)
        for t in types
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, optional: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node, optional
    elif isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.orelse:
            yield from _walk(child, optional)
    elif isinstance(node, (ast.Try, ast.TryStar)):
        guarded = optional or any(_catches_import_error(h) for h in node.handlers)
        for child in node.body:
            yield from _walk(child, guarded)
        for child in [*node.handlers, *node.orelse, *node.finalbody]:
            yield from _walk(child, optional)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _walk(child, optional)


def imports_in(source: str, name: str) -> list[Import]:
    """The absolute imports in one file; `name` labels it in messages."""
    out = []
    for node, optional in _walk(ast.parse(source, name), False):
        where = f"{name}:{node.lineno}"
        if isinstance(node, ast.Import):
            out += [Import(a.name, (), where, optional) for a in node.names]
        elif node.level == 0 and node.module:
            names = tuple(a.name for a in node.names if a.name != "*")
            out.append(Import(node.module, names, where, optional))
    return out


def backend_sources() -> list[tuple[str, str]]:
    return [(str(p.relative_to(ROOT)), p.read_text("utf-8")) for p in sorted(BACKEND.rglob("*.py"))]


def marshmallow_sources() -> list[tuple[str, str]]:
    """The bundled marshmallow's .py files: from the pinned wheel when it is cached, else
    from the same version installed here; skip without either."""
    version = makefile_var("MARSHMALLOW_VERSION")
    wheel = CACHE / f"marshmallow-{version}-py3-none-any.whl"
    if wheel.is_file():
        with zipfile.ZipFile(wheel) as z:
            return [
                (f"{wheel.relative_to(ROOT)}:{n}", z.read(n).decode("utf-8"))
                for n in sorted(z.namelist())
                if n.startswith("marshmallow/") and n.endswith(".py")
            ]
    try:
        dist = importlib.metadata.distribution("marshmallow")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is None or dist.version != version:
        pytest.skip(f"marshmallow {version}: no {wheel.relative_to(ROOT)} (make ipk) nor install")
    return sorted(
        (f"marshmallow {version}:{f}", Path(str(dist.locate_file(f))).read_text("utf-8"))
        for f in dist.files or ()
        if f.parts[0] == "marshmallow" and f.suffix == ".py"
    )


SOURCES = {"backend": backend_sources, "marshmallow": marshmallow_sources}


@pytest.fixture(scope="module", params=sorted(SOURCES))
def imports(request: pytest.FixtureRequest) -> list[Import]:
    files = SOURCES[request.param]()
    assert files
    return [imp for name, text in files for imp in imports_in(text, name)]


# --- the checks ----------------------------------------------------------------------------


def missing_packages(imports: list[Import], split: Split, declared: set[str]) -> list[str]:
    """One line per hard import whose package LUCI_DEPENDS does not name.

    The package that ships the module must be named itself; a package that a module of
    python3-light (or of another split package) needs may also come through the DEPENDS
    of a named split package (python3-urllib brings python3-email)."""
    pulled_in = closure(declared, split.requires)
    problems = []
    for imp in imports:
        if imp.optional:
            continue
        if imp.top in split.unavailable:
            problems.append(f"{imp.where}: `{imp.text()}`: no OpenWrt package has {imp.top}")
            continue
        pkg = split.owner.get(imp.top)
        if pkg and pkg not in declared:
            problems.append(
                f"{imp.where}: `{imp.text()}` needs {pkg} (it ships {imp.top}): "
                f"add +{pkg} to LUCI_DEPENDS"
            )
        for mod in imp.candidates():
            for need in sorted(split.needs.get(mod, ())):
                if need not in pulled_in:
                    problems.append(
                        f"{imp.where}: `{imp.text()}` needs {need} ({mod} fails to import "
                        f"without it): add +{need} to LUCI_DEPENDS"
                    )
    return problems


def test_every_imported_stdlib_module_has_its_package(
    imports: list[Import], split: Split, declared: set[str]
) -> None:
    problems = missing_packages(imports, split, declared)
    assert not problems, "luci-app-dualnat/Makefile:\n" + "\n".join(problems)


def hide_and_import(hidden: Iterable[str], todo: list[tuple[str, str, list[str]]]) -> list:
    """Import `todo` ([key, module, names]) in a child Python with `hidden` missing;
    the failures as [key, name of the missing module, message]."""
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", HIDE_AND_IMPORT],
        input=json.dumps([sorted(hidden), todo]),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(proc.stdout)


def test_the_imports_work_with_only_the_declared_packages(
    imports: list[Import], split: Split, declared: set[str]
) -> None:
    """On the Python running the tests, hide every module of the packages that
    LUCI_DEPENDS does not bring in and import what the code imports (stdlib only): this
    also sees needs that the data does not list yet."""
    installed = closure(declared, split.requires)
    hidden = {mod for mod, pkg in split.owner.items() if pkg not in installed}
    hidden |= split.unavailable
    hard = [imp for imp in imports if not imp.optional and imp.top in sys.stdlib_module_names]
    by_key = {str(i): imp for i, imp in enumerate(hard)}
    todo = [(key, imp.module, list(imp.names)) for key, imp in by_key.items()]
    problems = []
    for key, name, message in hide_and_import(hidden, todo):
        imp = by_key[key]
        pkg = split.owner.get(name.partition(".")[0], "no OpenWrt package")
        problems.append(f"{imp.where}: `{imp.text()}` fails without {pkg}: {message}")
    assert not problems, "\n".join(problems)


def test_tls_stays_optional(imports: list[Import], declared: set[str], data: dict) -> None:
    """python3-openssl is not a dependency; code that needs TLS checks for `_ssl` first
    (publicip.has_tls) or imports ssl under a try/except ImportError."""
    tls = set(data["modules"][OPTIONAL_TLS]) | set(data["needed_by"][OPTIONAL_TLS])
    hard = [imp for imp in imports if not imp.optional and tls & set(imp.candidates())]
    assert not hard, "\n".join(
        f"{imp.where}: `{imp.text()}` would make {OPTIONAL_TLS} a hard dependency; "
        "guard it with try/except ImportError"
        for imp in hard
    )
    assert OPTIONAL_TLS not in declared


# --- the checks of the checks --------------------------------------------------------------


def test_the_makefile_parser() -> None:
    assert declared_packages("+luci-base +python3-flask @IPV6 +IPV6:python3-x libfoo") == {
        "luci-base",
        "python3-flask",
        "libfoo",
    }
    assert closure(["a"], {"a": ["b"], "b": ["c", "a"]}) == {"a", "b", "c"}


def test_the_makefile_continuations(tmp_path: Path) -> None:
    mk = tmp_path / "Makefile"
    mk.write_text("A:=1\nLUCI_DEPENDS:=+a \\\n\t+b\nLUCI_DEPENDS+=+c\nB:=2\n")
    assert makefile_var("LUCI_DEPENDS", mk) == "+a +b +c"


def test_the_import_scanner() -> None:
    source = "\n".join(
        [
            "import os.path, json as j",
            "from urllib import parse",
            "from . import sibling",
            "from typing import TYPE_CHECKING",
            "if TYPE_CHECKING:",
            "    import email",
            "try:",
            "    import ssl",
            "except ImportError:",
            "    ssl = None",
            "try:",
            "    import decimal",
            "except ValueError:",
            "    pass",
            "def f():",
            "    import logging",
        ]
    )
    found = {(i.module, i.names, i.where, i.optional) for i in imports_in(source, "x.py")}
    assert found == {
        ("os.path", (), "x.py:1", False),
        ("json", (), "x.py:1", False),
        ("urllib", ("parse",), "x.py:2", False),
        ("typing", ("TYPE_CHECKING",), "x.py:4", False),
        ("ssl", (), "x.py:8", True),
        ("decimal", (), "x.py:12", False),
        ("logging", (), "x.py:16", False),
    }


def test_a_missing_package_is_reported(split: Split) -> None:
    imports = imports_in("import logging\nfrom http import client\nimport hashlib\n", "m.py")
    problems = missing_packages(imports, split, {"python3-flask"})
    assert problems == [
        "m.py:1: `import logging` needs python3-logging (it ships logging): "
        "add +python3-logging to LUCI_DEPENDS",
        "m.py:2: `from http import client` needs python3-email (http.client fails to "
        "import without it): add +python3-email to LUCI_DEPENDS",
    ]
    assert missing_packages(imports, split, {"python3-logging", "python3-email"}) == []
    # through DEPENDS: python3-urllib brings python3-email, but not for `import email`
    assert missing_packages(imports[1:], split, {"python3-urllib"}) == []
    assert missing_packages(imports_in("import email", "e.py"), split, {"python3-urllib"})


def test_the_data_is_consistent(data: dict, split: Split) -> None:
    packages = {*data["modules"], *data["site_packages"]}
    shipped = [
        m for table in ("modules", "site_packages") for ms in data[table].values() for m in ms
    ]
    assert len(shipped) == len(set(shipped)), "a module in two packages"
    assert set(data["needed_by"]) <= packages
    for pkg, deps in data["requires"].items():
        assert pkg in packages | {"python3"}, pkg
        assert set(deps) <= packages | {"python3"}, pkg
    assert set(data["requires"]["python3"]) <= set(data["modules"])
    for pkg, mods in data["needed_by"].items():
        assert not set(mods) & set(data["modules"].get(pkg, [])), (
            f"{pkg}: needed_by repeats its own modules"
        )
    assert not split.unavailable & set(split.owner)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_every_module_in_the_data_is_a_stdlib_module(data: dict) -> None:
    """The names are real stdlib modules for this Python (or removed from it by the
    version that [removed_in] says), so a typo or a rename cannot hide a dependency."""
    removed = {mod: _version(v) for mod, v in data["removed_in"].items()}
    names = [m for mods in data["modules"].values() for m in mods]
    names += [m for mods in data["needed_by"].values() for m in mods]
    names += data["unavailable"]["modules"]
    here = sys.version_info[:2]
    wrong = []
    for name in names:
        top = name.partition(".")[0]
        if top in removed and here >= removed[top]:
            if top in sys.stdlib_module_names:
                wrong.append(f"{top} is still in Python {here}: fix [removed_in]")
        elif top not in sys.stdlib_module_names:
            wrong.append(f"{name}: not a standard module of Python {here}")
        elif "." in name and importlib.util.find_spec(name) is None:
            wrong.append(f"{name}: no such submodule in Python {here}")
    for site in (m for mods in data["site_packages"].values() for m in mods):
        if site in sys.stdlib_module_names:
            wrong.append(f"{site} is a standard module: move it to [modules]")
    assert not wrong, "\n".join(wrong)


def test_needed_by_entries_hold(data: dict) -> None:
    """Each [needed_by] module fails to import on this Python when its package is
    missing: the measurement behind the table, repeated."""
    removed = {mod: _version(v) for mod, v in data["removed_in"].items()}
    here = sys.version_info[:2]
    wrong = []
    for pkg, mods in sorted(data["needed_by"].items()):
        hidden = set(data["modules"][pkg])
        todo = [
            (mod, mod, [])
            for mod in mods
            if mod.partition(".")[0] not in removed or here < removed[mod.partition(".")[0]]
        ]
        failed = {key: name for key, name, _ in hide_and_import(hidden, todo)}
        for mod, _, _ in todo:
            if failed.get(mod, "").partition(".")[0] not in hidden:
                wrong.append(f"{mod} imports without {pkg} on Python {here}")
    assert not wrong, "\n".join(wrong)
