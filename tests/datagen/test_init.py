"""``import datagen`` stays light: no PyG, Lightning or ``scipy.stats`` (issue 21, item 8)."""

from __future__ import annotations

import subprocess
import sys

import datagen

HEAVY = ("torch", "torch_geometric", "lightning", "scipy.stats", "matplotlib")


def test_import_datagen_skips_heavy_packages() -> None:
    code = f"import sys, datagen, datagen.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve() -> None:
    assert all(hasattr(datagen, name) for name in datagen.__all__)
