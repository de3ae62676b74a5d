"""Lazy package exports (PEP 562) shared by the four package ``__init__`` files."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datagen.lazy import by_name, lazy_exports


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, options: str) -> object:
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(f"""
        from datagen.lazy import by_name, lazy_exports

        _HOME = by_name({{"{name}.heavy": ("VALUE", "make")}})
        __getattr__, __dir__ = lazy_exports(__name__, _HOME{options})
        __all__ = ["VALUE", "make", "extra"]
        extra = 1
    """))
    (pkg / "heavy.py").write_text("VALUE = 42\n\ndef make():\n    return VALUE\n")
    (pkg / "other.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for mod in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        monkeypatch.delitem(sys.modules, mod)
    return importlib.import_module(name)


def test_by_name_inverts_the_module_table() -> None:
    assert by_name({"a": ("x", "y"), "b": ("z",)}) == {"x": "a", "y": "a", "z": "b"}


def test_names_load_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = _package(tmp_path, monkeypatch, "lazypkg_plain", "")
    assert "lazypkg_plain.heavy" not in sys.modules
    assert pkg.VALUE == 42  # type: ignore[attr-defined]
    assert "lazypkg_plain.heavy" in sys.modules
    assert "VALUE" not in vars(pkg)  # not cached by default
    assert {"VALUE", "make", "extra"} <= set(dir(pkg))
    with pytest.raises(AttributeError, match="^module 'lazypkg_plain' has no attribute 'nope'$"):
        pkg.nope  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError):
        pkg.other  # type: ignore[attr-defined]  # noqa: B018  (not a lazy submodule)


def test_cache_and_submodules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = _package(tmp_path, monkeypatch, "lazypkg_cached", ', submodules=("other",), cache=True')
    assert pkg.make() == 42  # type: ignore[attr-defined]
    assert "make" in vars(pkg)  # later lookups skip __getattr__
    assert pkg.other.X == 1  # type: ignore[attr-defined]
    assert dir(pkg) == sorted(set(dir(pkg)))


def test_lazy_exports_needs_the_package_importing() -> None:
    with pytest.raises(KeyError):
        lazy_exports("no_such_package_here", {})


def test_the_helper_imports_only_the_standard_library() -> None:
    code = ("import sys; before = set(sys.modules); import datagen.lazy; "
            "print(sorted(m.split('.')[0] for m in set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(ast.literal_eval(out.stdout)) - {"datagen"} <= set(sys.stdlib_module_names)
