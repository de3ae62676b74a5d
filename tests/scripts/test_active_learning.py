import json

import numpy as np
import pytest

from chainnet import AnalyticSurrogate
from datagen.dataset import load_dataset
from datagen.sampling import load_sampler_config, sample_scenario
from scripts.active_learning import main, request_from_scenario, select_candidates


class _Unsure(AnalyticSurrogate):
    """The analytic predictor with a made-up, varying uncertainty column."""

    def predict(self, scenarios):
        frame = super().predict(scenarios)
        frame["uncertainty"] = frame["scenario"].to_numpy() % 5 / 10.0
        return frame


def test_request_from_scenario_rebuilds_the_same_services():
    cfg = load_sampler_config("placer")
    rng = np.random.default_rng(0)
    for _ in range(20):
        sc = sample_scenario(cfg, rng)
        req = request_from_scenario(sc)
        assert req is not None
        assert [s.name for s in req.services] == [s.name for s in sc.services]
        assert req.devices == sc.devices and req.links == sc.links


def test_select_candidates_takes_the_best_and_the_most_uncertain():
    cfg = load_sampler_config("placer")
    req = request_from_scenario(sample_scenario(cfg, np.random.default_rng(1)))
    scen, why = select_candidates(req, _Unsure(), np.random.default_rng(0), pool=12, top=2,
                                  disagree=2)
    assert why.count("top") <= 2 and why.count("uncertain") <= 2 and len(scen) == len(why)
    assert len({sc.to_json() for sc in scen}) == len(scen)  # no candidate twice


def test_cli_writes_a_dataset(tmp_path, monkeypatch):
    import chainnet

    monkeypatch.setattr(chainnet.Surrogate, "load", classmethod(lambda cls, path: _Unsure()))
    out = tmp_path / "al"
    model = tmp_path / "x.pt"
    assert main(["--model", str(model), "--out", str(out), "--requests", "1"]) == 2  # missing
    model.touch()  # Surrogate.load is patched: the file only has to exist
    assert main(["--model", str(model), "--out", str(out), "--requests", "2", "--pool", "6",
                 "--top", "1", "--disagree", "1", "--num_requests", "1000", "--seed", "2"]) == 0
    summary = json.loads((out / "active_learning.json").read_text())
    assert summary["problems"] == 2 and summary["candidates"] <= 4
    assert len(load_dataset(out)) == summary["labelled"]
    with pytest.raises(SystemExit):
        main(["--model", "x.pt", "--out", str(tmp_path / "b"), "--requests", "0"])
    with pytest.raises(SystemExit):
        main(["--model", "x.pt", "--out", str(tmp_path / "b"), "--workers", "0"])
