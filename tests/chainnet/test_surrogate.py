import numpy as np
import pandas as pd
import pytest
import torch

import chainnet.surrogate as surrogate_module
from chainnet import (
    ChainNet,
    CheckpointError,
    Ensemble,
    GATBaseline,
    MLPBaseline,
    Surrogate,
    build_batch,
)
from chainnet.surrogate import PREDICTION_COLUMNS, UNCERTAINTY_COLUMNS, ratios_to_metrics


def _trained_like(model, scenarios):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.readout.parameters():
            p.normal_(0.0, 0.2)
    model.normalizer.fit(build_batch(scenarios))
    return model


@pytest.fixture
def scenarios(edge_scenarios, semantic_scenario, chainnet_scenarios):
    return [*edge_scenarios[:4], semantic_scenario, *chainnet_scenarios[:3]]


def test_predict_frame(scenarios):
    sur = Surrogate(_trained_like(ChainNet(hidden_channels=16), scenarios))
    df = sur.predict(scenarios)
    assert isinstance(df, pd.DataFrame)
    assert tuple(df.columns) == PREDICTION_COLUMNS + UNCERTAINTY_COLUMNS
    assert len(df) == sum(len(s.services) for s in scenarios)
    expected = [(i, s.name) for i, sc in enumerate(scenarios) for s in sc.services]
    assert list(zip(df["scenario"], df["service"])) == expected
    rates = np.array([s.arrival_rate for sc in scenarios for s in sc.services])
    np.testing.assert_allclose(df["throughput"], df["tput_ratio"] * rates, rtol=1e-12)
    np.testing.assert_allclose(df["loss_ratio"], 1 - df["tput_ratio"], rtol=1e-12)
    assert (df["latency_p95"] >= df["latency_mean"]).all()
    assert ((df["respt_ratio"] > 0) & (df["respt_ratio"] <= 1)).all()


def test_latency_conversion_uses_no_queue_latency(semantic_scenario):
    data = build_batch([semantic_scenario])
    out = {
        "tput_ratio": torch.tensor([0.5, 1.0]),
        "respt_ratio": torch.tensor([0.25, 1.0]),
        "p95_ratio": torch.tensor([2.0, 1.0]),
    }
    m = ratios_to_metrics(out, data)
    scale = data["service"].time_scale.numpy()
    np.testing.assert_allclose(m["latency_mean"], scale / np.array([0.25, 1.0]))
    np.testing.assert_allclose(m["latency_p95"], m["latency_mean"] * np.array([2.0, 1.0]))
    np.testing.assert_allclose(m["throughput"], [1.5, 2.0])
    # s1 (layer split, source a): f0 on a, 2000 B a->b... the slowest path is the s1 chain
    f = [1e8 / 1e9, 2e8 / (2e9 * 0.8), 5e7 / 5e8]
    tx = 1000 / 1e6 + 0.01 + 500 / 1e5
    assert scale[0] == pytest.approx(sum(f) + tx)


def test_batch_size_does_not_change_predictions(scenarios):
    sur = Surrogate(_trained_like(ChainNet(hidden_channels=16), scenarios))
    a = sur.predict(scenarios)
    b = sur.predict(scenarios, batch_size=3)
    pd.testing.assert_frame_equal(a, b, rtol=1e-5)
    empty = sur.predict([])
    assert tuple(empty.columns) == PREDICTION_COLUMNS + UNCERTAINTY_COLUMNS and len(empty) == 0
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        sur.predict(scenarios, batch_size=0)


@pytest.mark.parametrize("cls", [ChainNet, GATBaseline, MLPBaseline])
def test_save_load_round_trip(tmp_path, scenarios, cls):
    sur = Surrogate(_trained_like(cls(hidden_channels=8), scenarios), metadata={"note": "t"})
    path = sur.save(tmp_path / "sub" / "model.pt")
    ckpt = torch.load(path, weights_only=True)
    assert set(ckpt) >= {"schema_version", "model_class", "model_kwargs", "state_dict",
                         "normalizer", "metadata"}
    again = Surrogate.load(path)
    assert type(again.model) is cls and again.metadata == {"note": "t"}
    assert bool(again.model.normalizer.fitted)
    pd.testing.assert_frame_equal(sur.predict(scenarios), again.predict(scenarios))


def test_mismatched_checkpoints_fail_clearly(tmp_path, scenarios):
    sur = Surrogate(_trained_like(ChainNet(hidden_channels=8), scenarios))
    ckpt = sur.to_checkpoint()
    bad = dict(ckpt, schema_version=ckpt["schema_version"] + 1)
    torch.save(bad, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="schema_version .* retrain"):
        Surrogate.load(tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="model_class 'Nope'"):
        Surrogate.from_checkpoint(dict(ckpt, model_class="Nope"))
    with pytest.raises(CheckpointError, match="does not fit model ChainNet"):
        Surrogate.from_checkpoint(dict(ckpt, model_kwargs={"hidden_channels": 9}))
    with pytest.raises(CheckpointError, match="not an edgechain surrogate checkpoint"):
        Surrogate.from_checkpoint({"state_dict": {}})
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        Surrogate.load(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Surrogate.load(tmp_path / "missing.pt")


def test_default_without_packaged_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(surrogate_module, "DEFAULT_CHECKPOINT", tmp_path / "default.pt")
    with pytest.raises(FileNotFoundError, match="make default-model"):
        Surrogate.default()


def test_bad_model_and_batch_size():
    with pytest.raises(ValueError, match="model must be one of"):
        Surrogate(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        Surrogate(ChainNet(), batch_size=0)
    with pytest.raises(ValueError, match="num_threads must be >= 1 or None"):
        Surrogate(ChainNet(), num_threads=0)


def test_predict_restores_torch_threads(scenarios):
    before = torch.get_num_threads()
    Surrogate(ChainNet(hidden_channels=4), num_threads=1).predict(scenarios[:2])
    assert torch.get_num_threads() == before


def test_no_lightning_needed():
    from pathlib import Path

    import chainnet

    for path in Path(chainnet.__file__).parent.rglob("*.py"):
        text = path.read_text()
        assert "import lightning" not in text and "from lightning" not in text, path


def test_ensemble_averages_members_and_round_trips(tmp_path, scenarios):
    a = _trained_like(ChainNet(hidden_channels=8), scenarios)
    torch.manual_seed(1)
    b = MLPBaseline(hidden_channels=8)
    with torch.no_grad():
        for p in b.readout.parameters():
            p.normal_(0.0, 0.2)
    b.normalizer.fit(build_batch(scenarios))
    ens = Ensemble.from_models([a, b])
    batch = build_batch(scenarios)
    with torch.no_grad():
        out, oa, ob = ens.eval()(batch), a.eval()(batch), b.eval()(batch)
    for key in out:
        torch.testing.assert_close(out[key], (oa[key] + ob[key]) / 2)
    sur = Surrogate(ens, metadata={"note": "e"})
    again = Surrogate.load(sur.save(tmp_path / "ens.pt"))
    assert type(again.model) is Ensemble and len(again.model.members) == 2
    pd.testing.assert_frame_equal(sur.predict(scenarios), again.predict(scenarios))


def test_ensemble_bad_members():
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])
    with pytest.raises(ValueError, match=r"members\[0\]\.model_class"):
        Ensemble([{"model_class": "Ensemble", "model_kwargs": {}}])



def test_ensemble_weights_are_normalised_and_validated(scenarios):
    a = _trained_like(ChainNet(hidden_channels=8), scenarios)
    torch.manual_seed(3)
    b = _trained_like(ChainNet(hidden_channels=8), scenarios)
    ens = Ensemble.from_models([a, b], weights=[3.0, 1.0])
    assert ens.weights == (0.75, 0.25) and ens.predictive == (True, True)
    batch = build_batch(scenarios)
    with torch.no_grad():
        out, oa, ob = ens.eval()(batch), a.eval()(batch), b.eval()(batch)
    for key in out:
        torch.testing.assert_close(out[key], 0.75 * oa[key] + 0.25 * ob[key])
    assert "weights=[0.75, 0.25]" in repr(ens)
    assert Ensemble.from_models([a, b]).weights is None
    for bad in ([1.0], [1.0, -1.0], [0.0, 0.0], [1.0, float("nan")]):
        with pytest.raises(ValueError, match="weights"):
            Ensemble.from_models([a, b], weights=bad)


def test_a_critic_widens_the_spread_and_leaves_the_prediction(tmp_path, scenarios):
    ens = _ensemble(scenarios)
    torch.manual_seed(7)
    critic = _trained_like(ChainNet(hidden_channels=8), scenarios[:4])  # a narrower range
    with torch.no_grad():
        for p in critic.readout.parameters():
            p.normal_(0.0, 0.5)
    both = Ensemble.from_models([*ens.members, critic], weights=[1.0, 1.0, 0.0])
    assert both.predictive == (True, True, False)
    plain = Surrogate(ens, uncertainty_threshold=0.01).predict(scenarios)
    sur = Surrogate(both, uncertainty_threshold=0.01)
    got = sur.predict(scenarios)
    for c in PREDICTION_COLUMNS:
        if c not in ("scenario", "service"):
            np.testing.assert_allclose(got[c], plain[c], rtol=1e-6, atol=1e-7, err_msg=c)
    data = build_batch(scenarios)
    with torch.no_grad():
        loss = np.stack([1 - m.eval()(data)["tput_ratio"].double().numpy()
                         for m in both.members])
    np.testing.assert_allclose(got["uncertainty"], loss.max(0) - loss.min(0), atol=1e-6)
    assert (got["uncertainty"] > plain["uncertainty"] + 1e-6).any()
    # the critic saw only four scenarios, but the range is the predicting members'
    assert not got["out_of_range"].any()
    # the stacked fast path and the module path agree, and the weights survive a round trip
    sur._reference = True
    ref = sur.predict(scenarios)
    sur._reference = False
    for c in ("tput_ratio", "loss_ratio", "uncertainty"):
        np.testing.assert_allclose(ref[c], got[c], atol=2e-6, err_msg=c)
    assert (ref["out_of_range"] == got["out_of_range"]).all()
    again = Surrogate.load(sur.save(tmp_path / "critic.pt"))
    assert again.model.weights == (0.5, 0.5, 0.0)
    pd.testing.assert_frame_equal(again.predict(scenarios), Surrogate(
        both, uncertainty_threshold=again.uncertainty_threshold).predict(scenarios))

# -- uncertainty ------------------------------------------------------------------------------


def _ensemble(scenarios, seeds=(0, 1)):
    members = []
    for seed in seeds:
        torch.manual_seed(seed)
        m = ChainNet(hidden_channels=8)
        with torch.no_grad():
            for p in m.readout.parameters():
                p.normal_(0.0, 0.2)
        m.normalizer.fit(build_batch(scenarios))
        members.append(m)
    return Ensemble.from_models(members)


def test_uncertainty_is_member_spread_of_the_loss_ratio(scenarios):
    ens = _ensemble(scenarios)
    sur = Surrogate(ens, uncertainty_threshold=0.01)
    df = sur.predict(scenarios)
    data = build_batch(scenarios)
    with torch.no_grad():
        loss = np.stack([1 - m(data)["tput_ratio"].double().numpy() for m in ens.members])
    np.testing.assert_allclose(df["uncertainty"], loss.max(0) - loss.min(0), atol=1e-6)
    assert (df["uncertainty"] > 0).any()
    # every training graph lies in the fitted range
    assert not df["out_of_range"].any()
    np.testing.assert_array_equal(df["uncertain"], df["uncertainty"] > 0.01)
    # one model: no spread; the prior gap term adds |prediction - analytic prior|
    single = Surrogate(ens.members[0], prior_weight=1.0, uncertainty_threshold=1.0)
    one = single.predict(scenarios)
    prior = 1.0 - data["service"].prior[:, 0].double().numpy()
    np.testing.assert_allclose(one["uncertainty"], np.abs(one["loss_ratio"] - prior), atol=1e-6)
    assert not one["uncertain"].any()


def test_analytic_weight_adds_the_gap_to_the_analytic_predictor(scenarios):
    from chainnet import AnalyticSurrogate

    ens = _ensemble(scenarios)
    base = Surrogate(ens, uncertainty_threshold=0.05).predict(scenarios)
    sur = Surrogate(ens, uncertainty_threshold=0.05, analytic_weight=0.5)
    df = sur.predict(scenarios)
    analytic = AnalyticSurrogate().predict(scenarios)["loss_ratio"].to_numpy()
    np.testing.assert_allclose(
        df["uncertainty"], base["uncertainty"] + 0.5 * np.abs(base["loss_ratio"] - analytic),
        rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(df["uncertain"], df["out_of_range"] | (df["uncertainty"] > 0.05))
    # the predictions themselves do not change
    pd.testing.assert_frame_equal(df[list(PREDICTION_COLUMNS)], base[list(PREDICTION_COLUMNS)])
    # the calibration comes from the checkpoint, and is validated
    meta = {"uncertainty": {"threshold": 0.1, "analytic_weight": 0.4}}
    assert Surrogate(ens, metadata=meta).analytic_weight == 0.4
    with pytest.raises(ValueError, match="'analytic_weight'"):
        Surrogate(ens, analytic_weight=-0.5)


def test_out_of_range_flags_the_services_touching_an_unseen_feature(scenarios):
    model = _trained_like(ChainNet(hidden_channels=8), scenarios[:4])
    sur = Surrogate(model)
    df = sur.predict(scenarios)
    seen = df[df["scenario"] < 4]
    assert not seen["out_of_range"].any()
    assert df["out_of_range"].any()  # the semantic and chainnet-like graphs are new
    assert df["uncertain"].equals(df["out_of_range"] | (df["uncertainty"] > 0.05))
    # a range wide enough covers everything
    assert not Surrogate(model, range_margin=1e6).predict(scenarios)["out_of_range"].any()


def test_checkpoint_without_ranges_loads_with_an_open_range(tmp_path, scenarios):
    model = _trained_like(ChainNet(hidden_channels=8), scenarios[:2])
    ckpt = Surrogate(model).to_checkpoint()
    ckpt["state_dict"] = {k: v for k, v in ckpt["state_dict"].items()
                          if not k.endswith(("_lo", "_hi"))}
    old = Surrogate.from_checkpoint(ckpt)
    assert not old.predict(scenarios)["out_of_range"].any()


def test_calibration_comes_from_the_checkpoint_and_is_validated(scenarios):
    model = _trained_like(ChainNet(hidden_channels=8), scenarios)
    meta = {"uncertainty": {"threshold": 0.2, "prior_weight": 0.5, "range_margin": 2.0}}
    sur = Surrogate(model, metadata=meta)
    assert (sur.uncertainty_threshold, sur.prior_weight, sur.range_margin) == (0.2, 0.5, 2.0)
    assert Surrogate(model, metadata=meta, uncertainty_threshold=0.1).uncertainty_threshold == 0.1
    with pytest.raises(ValueError, match="uncertainty calibration 'threshold'"):
        Surrogate(model, uncertainty_threshold=-1.0)


def test_an_out_of_range_service_gets_the_analytic_prior(scenarios):
    model = _trained_like(ChainNet(hidden_channels=8), scenarios[:4])
    data = build_batch(scenarios)
    prior = data["service"].prior.double().numpy()
    df = Surrogate(model).predict(scenarios)
    raw = Surrogate(model, out_of_range="model").predict(scenarios)
    oor = df["out_of_range"].to_numpy()
    assert oor.any() and (~oor).any()
    np.testing.assert_allclose(df.loc[oor, "tput_ratio"], prior[oor, 0], rtol=1e-6)
    np.testing.assert_allclose(df.loc[oor, "respt_ratio"], prior[oor, 1], rtol=1e-6)
    pd.testing.assert_frame_equal(df[~oor], raw[~oor])
    with pytest.raises(ValueError, match="out_of_range must be"):
        Surrogate(model, out_of_range="nope")


def test_prediction_table_equals_the_dict_constructor():
    from chainnet.surrogate import PREDICTION_COLUMNS, UNCERTAINTY_COLUMNS, _table

    columns = PREDICTION_COLUMNS + UNCERTAINTY_COLUMNS
    n = 4
    cols = {c: np.linspace(0.0, 1.0, n) for c in columns}
    cols["scenario"] = np.arange(n)
    cols["service"] = np.array(["a", "b", "c", "d"], dtype=object)
    cols["out_of_range"] = np.array([True, False, False, True])
    cols["uncertain"] = np.array([True, True, False, True])
    want = pd.DataFrame({c: cols[c] for c in columns})
    got = _table(cols, columns)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(_table({c: v[:0] for c, v in cols.items()}, columns),
                                  want.iloc[:0].reset_index(drop=True), check_exact=True)
