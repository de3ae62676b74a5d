"""chainnet.nn.stacked: the stacked engine computes each member's ChainNet.forward, reuses its
scratch memory safely, and flags out-of-range services as the module path does."""

import numpy as np
import pytest
import torch

from chainnet import ChainNet, build_batch
from chainnet.builder import build_tensors
from chainnet.nn import PathGRU, stacked
from chainnet.nn.stacked import StackedChainNet
from chainnet.queueing import mg1k_loss_mgs
from chainnet.surrogate import service_out_of_range
from tests.chainnet.conftest import make_semantic_scenario, sample_scenarios

_HEADS = ("tput_ratio", "respt_ratio", "p95_ratio", "utilization", "drop_prob")


@pytest.fixture(scope="module")
def scenarios() -> list:
    return ([make_semantic_scenario()] + sample_scenarios("chainnet_like", 4, seed=5)
            + sample_scenarios("edge", 4, seed=6))


def _members(scenarios: list, heads: int) -> list[ChainNet]:
    torch.manual_seed(heads)
    members = []
    for _ in range(2):
        m = ChainNet(hidden_channels=8, num_iterations=2, heads=heads)
        m.normalizer.fit(build_batch(scenarios))
        for p in m.parameters():  # non-zero heads, so the test sees the network
            torch.nn.init.normal_(p, std=0.3)
        m.eval()
        members.append(m)
    return members


@pytest.mark.parametrize("heads", [1, 2])
def test_each_member_matches_its_module_forward(scenarios, heads):
    members = _members(scenarios, heads)
    engine = StackedChainNet(members)
    g = build_tensors(scenarios)
    assert g is not None
    with torch.no_grad():
        out = engine(g)
        data = build_batch(scenarios)
        for m, member in enumerate(members):
            for module in member.modules():
                if isinstance(module, PathGRU):
                    module.packed = False  # the padded reference route
            ref = member(data)
            for head in _HEADS:
                np.testing.assert_allclose(out[head][m].numpy(), ref[head].numpy(), rtol=0,
                                           atol=2e-6, err_msg=head)


def test_scratch_memory_is_reused_without_leaking_values(scenarios, monkeypatch):
    monkeypatch.setattr(stacked, "_SCRATCH_MIN", 0)  # every temporary from the workspace
    engine = StackedChainNet(_members(scenarios, 1))
    fresh = StackedChainNet(_members(scenarios, 1))
    big, small = build_tensors(scenarios), build_tensors(scenarios[1:2])
    assert big is not None and small is not None
    with torch.no_grad():
        first = engine(big)
        engine(small)  # smaller views of the same buffers
        again = engine(big)
        alone = fresh(small)
        after = engine(small)
    for head in _HEADS:
        torch.testing.assert_close(first[head], again[head], rtol=0, atol=0)
        torch.testing.assert_close(alone[head], after[head], rtol=0, atol=0)


@pytest.mark.parametrize("margin", [0.0, 0.5, 3.0])
def test_out_of_range_ors_the_members_flags(scenarios, margin):
    members = _members(scenarios, 1)
    engine = StackedChainNet(members)
    g = build_tensors(scenarios)
    assert g is not None
    data = build_batch(scenarios)
    z = {nt: torch.asinh(x) for nt, x in g.x.items()}
    expect = torch.zeros(g.service_prior.size(0), dtype=torch.bool)
    for m in members:
        expect |= service_out_of_range(data, m.normalizer, margin)
    assert torch.equal(engine.out_of_range(g, z, margin), expect)
    assert torch.equal(engine.out_of_range(g, z, margin), expect)  # cached bounds


def test_mgs_loss_of_float_arrays_equals_the_general_path():
    rng = np.random.default_rng(0)
    rho = np.concatenate([rng.uniform(0, 3, 50), [0.0, 1.0, 1.0 + 1e-12]])
    scv = rng.uniform(0, 4, rho.size)
    cap = rng.integers(1, 30, rho.size).astype(np.float64)
    fast = mg1k_loss_mgs(rho, scv, cap)
    general = mg1k_loss_mgs(list(rho), list(scv), list(cap))
    np.testing.assert_array_equal(fast, general)
    np.testing.assert_array_equal(mg1k_loss_mgs(rho, scv, cap, fallback="exact"),
                                  mg1k_loss_mgs(list(rho), list(scv), list(cap),
                                                fallback="exact"))
    for bad in (np.where(rho > 1, np.nan, rho), -rho - 1, rho + np.inf):
        with pytest.raises(ValueError, match="rho must be finite"):
            mg1k_loss_mgs(bad, scv, cap)
    with pytest.raises(ValueError, match="K must be >= 1"):
        mg1k_loss_mgs(rho, scv, cap - 1)
