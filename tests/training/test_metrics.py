import numpy as np
import pytest

from training.metrics import METRIC_COLUMNS, evaluation_table, service_errors, summarize


def _errors():
    true = {
        "tput_ratio": np.array([1.0, 0.5, 0.8]),
        "respt_ratio": np.array([0.5, 0.25, 1.0]),
        "loss_ratio": np.array([0.0, 0.5, 0.2]),
        "latency_mean": np.array([2.0, 4.0, 1.0]),
        "latency_p95": np.array([np.nan, 8.0, 2.0]),
        "num_services": np.array([1.0, 2.0, 2.0]),
    }
    pred = {
        "tput_ratio": np.array([0.9, 0.5, 0.8]),
        "respt_ratio": np.array([0.5, 0.5, 0.5]),
        "loss_ratio": np.array([0.1, 0.5, 0.3]),
        "latency_mean": np.array([2.0, 2.0, 2.0]),
        "latency_p95": np.array([4.0, 8.0, 3.0]),
    }
    return service_errors(pred, true)


def test_chainnet_combined_mape_definition():
    s = summarize(_errors())
    tput = np.mean([0.1 / (1 + 1e-5), 0.0, 0.0])
    respt = np.mean([0.0, 0.25 / (0.25 + 1e-5), 0.5 / (1 + 1e-5)])
    assert s["tput_mape"] == pytest.approx(tput)
    assert s["respt_mape"] == pytest.approx(respt)
    assert s["combined_mape"] == pytest.approx((tput + respt) / 2)
    assert s["loss_mae"] == pytest.approx(0.2 / 3)
    assert s["loss_mae_lossy"] == pytest.approx(0.05)  # services 2 and 3 are lossy
    assert s["latency_mape"] == pytest.approx((0 + 0.5 + 1.0) / 3)
    assert s["p95_ape"] == pytest.approx(0.25)  # NaN label skipped
    assert s["bad_services"] == 0  # no loss-ratio error above 0.1
    assert summarize(_errors().assign(ae_loss=[0.0, 0.2, 0.11]))["bad_services"] == 2


def test_table_breaks_down_by_services_per_graph():
    table = evaluation_table(_errors())
    assert list(table.columns) == list(METRIC_COLUMNS)
    assert list(table.index) == ["all", "1 services", "2 services"]
    assert table.loc["2 services", "services"] == 2
    assert table["bad_services"].dtype.kind == "i"
    assert table.loc["1 services", "tput_mape"] == pytest.approx(0.1 / (1 + 1e-5))


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="respt_ratio must have shape"):
        service_errors({"respt_ratio": np.ones(2)}, {"tput_ratio": np.ones(3),
                                                     "respt_ratio": np.ones(3)})
