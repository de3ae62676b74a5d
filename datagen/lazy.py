"""Lazy exports of package ``__init__`` files (PEP 562), for every package of the project.

A package lists which module holds each of its public names; :func:`lazy_exports` returns the
module-level ``__getattr__`` and ``__dir__`` that import that module on first use, so that
``import datagen`` or ``python -m training --help`` does not pay for pandas, torch or
Lightning until a name that needs them is used::

    _HOME = by_name({"datagen.catalog": ("DeviceSpec", "get_device")})
    __getattr__, __dir__ = lazy_exports(__name__, _HOME)

This module imports only the standard library, so any package may use it at no cost.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["by_name", "lazy_exports"]


def by_name(modules: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Invert ``{module: names it defines}`` into ``{name: module}``, in the given order."""
    return {name: module for module, names in modules.items() for name in names}


def lazy_exports(
    package: str,
    home: Mapping[str, str],
    *,
    submodules: Iterable[str] = (),
    cache: bool = False,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose names load on first use.

    Args:
        package: The package's ``__name__``; it must be importing (in ``sys.modules``).
        home: Public name -> the module to import it from (see :func:`by_name`).
        submodules: Submodules that ``package.<name>`` imports on first access, as if the
            package imported them eagerly (default: none).
        cache: Whether to store a loaded name in the package namespace, so that later
            lookups skip ``__getattr__`` (default: ``False``).

    Returns:
        ``(__getattr__, __dir__)``: ``__getattr__`` raises :class:`AttributeError` for other
        names, worded as Python's own; ``__dir__`` lists the package namespace, the lazy names
        and ``__all__``.
    """
    namespace = vars(sys.modules[package])
    lazy_submodules = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        """Import a lazily loaded public name or submodule on first access."""
        if name in home:
            value = getattr(importlib.import_module(home[name]), name)
            if cache:
                namespace[name] = value
            return value
        if name in lazy_submodules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        """The package's names, lazily loaded ones included."""
        return sorted(set(namespace) | set(home) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
