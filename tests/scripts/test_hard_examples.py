import json

import numpy as np
import pandas as pd
import pytest

from chainnet import AnalyticSurrogate
from datagen.dataset import generate, load_dataset
from scripts.hard_examples import hard_scenarios, main, write_subset


class _OffOn(AnalyticSurrogate):
    """Predicts each service's simulated loss ratio, off by 0.2 on the chosen scenarios."""

    def __init__(self, labels: pd.DataFrame, wrong: set[int]) -> None:
        super().__init__()
        self.labels, self.wrong = labels, wrong
        self.calls = 0

    def predict(self, scenarios):
        frame = super().predict(scenarios)
        start = self.calls
        self.calls += len(scenarios)
        truth = self.labels.set_index(["scenario", "service"])["loss_ratio"]
        loss = truth.loc[list(zip(frame["scenario"] + start, frame["service"]))].to_numpy()
        off = np.isin(frame["scenario"].to_numpy() + start, list(self.wrong))
        frame["loss_ratio"] = loss + np.where(off, 0.2, 0.0)
        return frame


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("hard") / "tiny"
    generate("chainnet_like", out, num_samples=6, seed=4, num_requests=500, workers=1,
             progress=False)
    return out


def test_hard_scenarios_are_those_off_by_more_than_the_threshold(tiny):
    ds = load_dataset(tiny)
    model = _OffOn(ds.services, {1, 4})
    assert hard_scenarios(model, tiny, 0.1).tolist() == [1, 4]
    model.calls = 0
    assert hard_scenarios(model, tiny, 0.3).tolist() == []


def test_subset_keeps_the_labels_and_renumbers(tiny, tmp_path):
    src = load_dataset(tiny)
    n = write_subset([(tiny, np.array([4, 1])), (tiny, np.array([2]))], tmp_path / "sub")
    sub = load_dataset(tmp_path / "sub")
    assert n == 3 and len(sub) == 3 and sub.scenario_ids == [0, 1, 2]
    for new, old in enumerate([1, 4, 2]):
        assert sub.scenario(new).to_json() == src.scenario(old).to_json()
        for name in ("services", "devices"):
            a = getattr(sub, name).query("scenario == @new").drop(columns="scenario")
            b = getattr(src, name).query("scenario == @old").drop(columns="scenario")
            pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    origin = json.loads((tmp_path / "sub" / "manifest.json").read_text())["hard_examples"]
    assert [o["scenarios"] for o in origin] == [[1, 4], [2]]
    with pytest.raises(FileExistsError):
        write_subset([(tiny, np.array([0]))], tmp_path / "sub")


def test_cli(tiny, tmp_path, monkeypatch):
    import chainnet

    labels = load_dataset(tiny).services
    monkeypatch.setattr(chainnet.Surrogate, "load",
                        classmethod(lambda cls, path: _OffOn(labels, {3})))
    out = tmp_path / "hard"
    assert main(["--model", "x.pt", "--out", str(out), "--data", str(tiny)]) == 1
    assert len(load_dataset(out)) == 1
    for bad in (["--threshold", "1.5"], ["--out", str(out)], ["--data", str(tmp_path)]):
        argv = ["--model", "x.pt", "--out", str(tmp_path / "b"), "--data", str(tiny), *bad]
        with pytest.raises(SystemExit):
            main(argv)
