"""``import chainnet`` loads PyTorch Geometric names on first use (issue 21, item 8)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import chainnet


def test_import_chainnet_skips_heavy_packages() -> None:
    heavy = ("torch_geometric", "torch._dynamo", "lightning", "scipy.stats", "matplotlib")
    code = (
        "import sys, chainnet; "
        f"print([m for m in {heavy!r} if m in sys.modules]); "
        "chainnet.Surrogate; print('torch_geometric' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True"]


def test_lazy_names_are_the_module_objects() -> None:
    from chainnet.builder import build_graph
    from chainnet.models import ChainNet
    from chainnet.surrogate import Surrogate

    assert (chainnet.Surrogate, chainnet.ChainNet, chainnet.build_graph) == (
        Surrogate,
        ChainNet,
        build_graph,
    )
    assert all(hasattr(chainnet, name) for name in chainnet.__all__)
    assert set(chainnet.__all__) <= set(dir(chainnet))
    assert chainnet.models.ChainNet is ChainNet
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        chainnet.nope  # noqa: B018
