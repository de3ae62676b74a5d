import numpy as np
import pytest
import torch

from chainnet import ChainNet, Ensemble, Surrogate, build_batch
from training.calibrate import calibrate_uncertainty
from training.calibrate import main as calibrate_main
from training.metrics import FLAG_ERROR, service_errors, summarize
from training.samples import load_samples


def _ensemble(scenarios):
    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        m = ChainNet(hidden_channels=8)
        with torch.no_grad():
            for p in m.readout.parameters():
                p.normal_(0.0, 0.3)
        m.normalizer.fit(build_batch(scenarios[: len(scenarios) // 2]))
        members.append(m)
    return Surrogate(Ensemble.from_models(members))


def test_calibration_reaches_the_recall_with_the_smallest_share(tiny_dataset):
    samples = load_samples(tiny_dataset)
    sur = _ensemble([s for s, _, _ in samples])
    chosen = calibrate_uncertainty(sur, samples, recall=0.9)
    assert chosen["recall"] >= 0.9
    # the surrogate now carries the chosen settings, and its flags give those figures
    assert sur.uncertainty_threshold == chosen["threshold"]
    pred = sur.predict([s for s, _, _ in samples])
    true = np.concatenate([lab.reindex([v.name for v in sc.services])["loss_ratio"].to_numpy()
                           for sc, lab, _ in samples])
    err = np.abs(pred["loss_ratio"].to_numpy() - true)
    flag = pred["uncertain"].to_numpy()
    if (err > FLAG_ERROR).any():
        assert flag[err > FLAG_ERROR].mean() == pytest.approx(chosen["recall"])
    assert flag.mean() == pytest.approx(chosen["share"])
    # the same figures through the evaluation metrics
    keys = ("tput_ratio", "respt_ratio", "loss_ratio", "latency_mean", "latency_p95")
    errors = service_errors({**{k: pred[k].to_numpy() for k in keys},
                             "uncertain": flag.astype(float)},
                            {"tput_ratio": 1 - true, "loss_ratio": true,
                             "num_services": np.ones_like(true)})
    assert summarize(errors)["flag_share"] == pytest.approx(chosen["share"])
    with pytest.raises(ValueError, match="recall must be in"):
        calibrate_uncertainty(sur, samples, recall=0.0)


def test_cli_records_the_calibration_in_the_checkpoint(tiny_dataset, tmp_path):
    samples = load_samples(tiny_dataset)
    path = _ensemble([s for s, _, _ in samples]).save(tmp_path / "m.pt")
    chosen = calibrate_main(["--model", str(path), "--data.val", tiny_dataset, "--recall", "0.8"])
    again = Surrogate.load(path)
    assert again.metadata["uncertainty"]["calibrated_on"] == ["tiny"]
    assert again.uncertainty_threshold == pytest.approx(chosen["threshold"])
    assert again.prior_weight == chosen["prior_weight"]
    assert again.analytic_weight == chosen["analytic_weight"]
