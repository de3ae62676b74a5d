"""The stacked fast path (chainnet.nn.stacked, builder.build_tensors, Surrogate.predict_arrays)
gives the predictions of the reference module path."""

import numpy as np
import pandas as pd
import pytest
import torch

from chainnet import ChainNet, Ensemble, Surrogate, build_batch
from chainnet.builder import build_tensors, scenarios_to_arrays, tile_arrays
from chainnet.nn import PathGRU
from chainnet.nn.path_gru import pack_paths
from chainnet.nn.stacked import StackedChainNet
from tests.chainnet.conftest import make_semantic_scenario, placed_like, sample_scenarios

_COLS = ("tput_ratio", "respt_ratio", "loss_ratio", "uncertainty")
_SECONDS = ("throughput", "latency_mean", "latency_p95")


def _reference(sur: Surrogate, on: bool) -> None:
    sur._reference = on
    for module in sur.model.modules():
        if isinstance(module, PathGRU):
            module.packed = not on


def _assert_close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert (a["scenario"].to_numpy() == b["scenario"].to_numpy()).all()
    assert (a["service"].to_numpy() == b["service"].to_numpy()).all()
    assert (a["out_of_range"].to_numpy() == b["out_of_range"].to_numpy()).all()
    for c in _COLS:
        np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=0, atol=2e-6)
    for c in _SECONDS:
        np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=2e-6)


@pytest.fixture(scope="module")
def mixed() -> list:
    return ([make_semantic_scenario()] + sample_scenarios("chainnet_like", 6, seed=3)
            + sample_scenarios("edge", 6, seed=4))


@pytest.fixture(scope="module")
def ensemble(mixed) -> Surrogate:
    torch.manual_seed(0)
    members = []
    for _ in range(2):
        m = ChainNet(hidden_channels=8, num_iterations=2)
        m.normalizer.fit(build_batch(mixed))
        for p in m.parameters():  # non-zero heads, so the test sees the network
            torch.nn.init.normal_(p, std=0.3)
        members.append(m)
    return Surrogate(Ensemble.from_models(members), prior_weight=1.0)


@pytest.mark.parametrize("batch_size", [1, 5, 1000])
def test_fast_path_matches_the_reference_path(ensemble, mixed, batch_size):
    fast = ensemble.predict(mixed, batch_size=batch_size)
    _reference(ensemble, True)
    try:
        ref = ensemble.predict(mixed, batch_size=batch_size)
    finally:
        _reference(ensemble, False)
    _assert_close(fast, ref)


def test_single_chainnet_and_weight_changes_are_seen(mixed):
    torch.manual_seed(1)
    model = ChainNet(hidden_channels=8, num_iterations=1)
    model.normalizer.fit(build_batch(mixed))
    sur = Surrogate(model)
    before = sur.predict(mixed)
    with torch.no_grad():
        for p in model.readout.parameters():
            p.add_(0.5)
    after = sur.predict(mixed)  # the stacked snapshot is rebuilt after the in-place change
    _reference(sur, True)
    ref = sur.predict(mixed)
    _assert_close(after, ref)
    assert not np.allclose(before["tput_ratio"], after["tput_ratio"])


def test_predict_arrays_of_tiled_assignments_equals_predict(ensemble, mixed):
    base = mixed[0]
    arr = scenarios_to_arrays([base])
    rng = np.random.default_rng(0)
    devices = rng.integers(0, len(base.devices), size=(4, arr.fragment_device.shape[0]))
    scenarios = placed_like(base, devices)
    tiled = tile_arrays(arr, devices)
    flat = scenarios_to_arrays(scenarios)
    for field in flat.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(tiled, field), getattr(flat, field), err_msg=field)
    names_rows = [s.name for sc in scenarios for s in sc.services]
    _assert_close(ensemble.predict_arrays(tiled, names_rows), ensemble.predict(scenarios))
    # the analytic term of the uncertainty is solved from the arrays: the same as predict's,
    # and analytic=False leaves it out
    without = ensemble.predict(scenarios)["uncertainty"].to_numpy()
    ensemble.analytic_weight = 1.0
    try:
        with_gap = ensemble.predict(scenarios)
        from_arrays = ensemble.predict_arrays(tiled, names_rows)
        pd.testing.assert_frame_equal(from_arrays, with_gap, check_exact=True)
        assert (with_gap["uncertainty"].to_numpy() > without + 1e-6).any()
        np.testing.assert_array_equal(
            ensemble.predict_arrays(tiled, names_rows, analytic=False)["uncertainty"], without)
    finally:
        ensemble.analytic_weight = 0.0
    with pytest.raises(ValueError, match="service_names"):
        ensemble.predict_arrays(tiled, names_rows[:-1])
    with pytest.raises(ValueError, match="one scenario"):
        tile_arrays(flat, devices)


def test_pack_paths_orders_steps_longest_path_first():
    # paths: p0 = [f2, f0, f4], p1 = [f1], p2 = [f3, f5]
    plan = pack_paths(torch.tensor([0, 1, 0, 2, 0, 2]), torch.tensor([1, 0, 0, 0, 2, 1]), 3)
    assert plan is not None
    assert plan.batch_sizes.tolist() == [3, 2, 1]
    assert plan.sorted_paths.tolist() == [0, 2, 1]
    assert plan.fragment_of_row.tolist() == [2, 3, 1, 0, 5, 4]
    assert pack_paths(torch.tensor([0, 0]), torch.tensor([0, 1]), 2) is None  # empty path


def test_packed_and_padded_path_gru_agree():
    torch.manual_seed(0)
    layer = PathGRU(4, 3)
    path_batch = torch.tensor([0, 1, 0, 2, 0, 2, 3])
    path_pos = torch.tensor([1, 0, 0, 0, 2, 1, 0])
    x, h0 = torch.randn(7, 4), torch.randn(4, 3)
    out, last = layer(x, path_batch, path_pos, h0)
    layer.packed = False
    ref_out, ref_last = layer(x, path_batch, path_pos, h0)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(last, ref_last)


def test_stacked_model_needs_chainnet_members():
    assert StackedChainNet.from_model(torch.nn.Linear(2, 2)) is None
    mixed_sizes = Ensemble.from_models([ChainNet(hidden_channels=8), ChainNet(hidden_channels=4)])
    assert StackedChainNet.from_model(mixed_sizes) is None
    with pytest.raises(ValueError, match="ChainNet"):
        StackedChainNet([])
    stacked = StackedChainNet.from_model(ChainNet(hidden_channels=8, num_iterations=2))
    assert repr(stacked) == "StackedChainNet(members=1, hidden_channels=8, num_iterations=2)"


def test_build_tensors_packs_fragments(semantic_scenario):
    g = build_tensors([semantic_scenario])
    assert g is not None
    assert g.batch_sizes.tolist() == [3, 2, 1]  # s1 (3 fragments), sem's branches (2 and 1)
    assert g.x["fragment"].shape == (6, build_batch([semantic_scenario])["fragment"].x.size(1))
    assert g.send_fragment.numel() == g.send_link.numel() > 0


def test_critics_leave_the_predictions_and_can_be_skipped(ensemble, mixed):
    torch.manual_seed(5)
    critic = ChainNet(hidden_channels=8, num_iterations=2)
    critic.normalizer.fit(build_batch(mixed[:3]))
    for p in critic.parameters():
        torch.nn.init.normal_(p, std=0.3)
    members = list(ensemble.model.members)
    with_critic = Surrogate(Ensemble.from_models([*members, critic], weights=[1, 1, 0]),
                            prior_weight=1.0)
    plain = ensemble.predict(mixed)
    full = with_critic.predict(mixed)
    for c in ("tput_ratio", "respt_ratio", "loss_ratio", *_SECONDS):  # float32 rounding only
        np.testing.assert_allclose(full[c].to_numpy(), plain[c].to_numpy(), rtol=1e-6,
                                   atol=1e-7, err_msg=c)
    assert (full["uncertainty"] >= plain["uncertainty"] - 1e-7).all()
    assert (full["uncertainty"] > plain["uncertainty"] + 1e-6).any()
    assert (full["out_of_range"] == plain["out_of_range"]).all()  # the critic's range is not used
    # ranking mode: no critic in the forward pass, the members' spread only
    arrays = scenarios_to_arrays(mixed)
    names = [s.name for sc in mixed for s in sc.services]
    ranked = with_critic.predict_arrays(arrays, names, critics=False)
    _assert_close(ranked, ensemble.predict_arrays(arrays, names))
    _assert_close(with_critic.predict_arrays(arrays, names), full)
    # the module path agrees with the stacked one
    _reference(with_critic, True)
    try:
        ref = with_critic.predict(mixed)
    finally:
        _reference(with_critic, False)
    _assert_close(full, ref)
    with pytest.raises(ValueError, match="weights"):
        StackedChainNet(members, weights=[0.0, 0.0])
    with pytest.raises(ValueError, match="weights"):
        StackedChainNet(members, weights=[1.0])
    # unequal weights: the weighted mean
    tilted = Surrogate(Ensemble.from_models(members, weights=[3, 1]))
    data = build_batch(mixed)
    with torch.no_grad():
        a, b = (m.eval()(data)["tput_ratio"].double().numpy() for m in members)
    np.testing.assert_allclose(tilted.predict(mixed)["tput_ratio"], 0.75 * a + 0.25 * b,
                               atol=1e-6)


def _random_members(scenarios: list, n: int, seed: int, **kwargs: object) -> list[ChainNet]:
    """``n`` small ChainNets with N(0, 0.3) weights (non-zero heads), normalisers fitted."""
    torch.manual_seed(seed)
    members = []
    for _ in range(n):
        m = ChainNet(hidden_channels=8, **kwargs)  # type: ignore[arg-type]
        m.normalizer.fit(build_batch(scenarios))
        for p in m.parameters():
            torch.nn.init.normal_(p, std=0.3)
        members.append(m)
    return members


@pytest.mark.parametrize("heads,use_priors", [(1, True), (2, False)])
def test_compiled_kernel_matches_the_stacked_pass_on_small_inputs(mixed, heads, use_priors):
    """Single scenarios (links, forks and joins, several paths) through both passes."""
    members = _random_members(mixed, 3, seed=1, num_iterations=3, heads=heads,
                              use_priors=use_priors)
    stacked = StackedChainNet(members)
    assert stacked.compiled_max_rows > 0
    with_links = 0
    for sc in mixed:
        g = build_tensors([sc])
        assert g is not None
        rows = sum(x.size(0) for x in g.x.values())
        with_links += g.send_fragment.numel() > 0
        stacked.compiled_max_rows = 10**6
        compiled = stacked(g)
        stacked.compiled_max_rows = 0
        batched = stacked(g)
        assert set(compiled) == set(batched)
        for k, v in batched.items():
            assert compiled[k].shape == v.shape and compiled[k].dtype == v.dtype
            # float32 products summed in another order (MKL's differs by CPU): a few 1e-7
            np.testing.assert_allclose(compiled[k].numpy(), v.numpy(), rtol=1e-5, atol=5e-6,
                                       err_msg=f"{k} on a scenario of {rows} rows")
    assert with_links > 0  # the edge scenarios send over links


@pytest.mark.parametrize("compiled_rows", [0, 10**6], ids=["batched", "compiled"])
def test_services_only_skips_device_work_with_the_same_service_heads(mixed, compiled_rows):
    """The surrogate's mode: the service heads bit for bit, no device heads."""
    members = _random_members(mixed, 2, seed=2, num_iterations=3)
    stacked = StackedChainNet(members)
    stacked.compiled_max_rows = compiled_rows
    for group in ([sc] for sc in mixed) if compiled_rows else [mixed]:
        g = build_tensors(group)
        assert g is not None
        full = stacked(g)
        lean = stacked(g, services_only=True)
        assert set(lean) == {"tput_ratio", "respt_ratio", "p95_ratio"}
        for k, v in lean.items():
            torch.testing.assert_close(v, full[k], rtol=0, atol=0)


def test_compiled_kernel_runs_only_small_inputs(mixed, monkeypatch):
    import chainnet.nn.compiled as compiled

    stacked = StackedChainNet([ChainNet(hidden_channels=8, num_iterations=1)])
    calls = []
    monkeypatch.setattr(compiled, "compiled_forward",
                        lambda s, g, z, **kw: calls.append(1) or {})  # noqa: ARG005
    small = build_tensors(mixed[:1])
    assert sum(x.size(0) for x in small.x.values()) <= stacked.compiled_max_rows
    stacked(small)
    assert calls == [1]
    stacked(build_tensors(mixed))  # many rows: the batched products
    assert calls == [1]


@pytest.mark.parametrize("weights", [None, (0.7, 0.3, 0.0)])
def test_single_scenarios_on_the_compiled_path_match_the_batched_path(mixed, weights):
    """Batch 1 (compiled kernel, numpy uncertainty) = the same scenarios in one large batch
    (stacked products, tensor uncertainty): predictions, uncertainty and range flags, with
    weighted members, a critic and out-of-range scenarios (served by the priors)."""
    import dataclasses

    members = _random_members(mixed, 3, seed=2, num_iterations=2)
    sur = Surrogate(Ensemble.from_models(members, weights), prior_weight=0.5)
    hot = dataclasses.replace(mixed[1], services=tuple(
        dataclasses.replace(s, arrival_rate=s.arrival_rate * 1e4) for s in mixed[1].services))
    scenarios = [*mixed, hot]
    engine = sur._engine()
    assert engine.runs_compiled(build_tensors([hot]))
    assert not engine.runs_compiled(build_tensors(scenarios))
    one = sur.predict(scenarios, batch_size=1)
    batched = sur.predict(scenarios, batch_size=1000)
    assert one["out_of_range"].any()  # the hot scenario leaves the training range
    _assert_close(one, batched)
    np.testing.assert_array_equal(one["uncertain"], batched["uncertain"])
