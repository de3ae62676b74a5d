"""Hostile and careless inputs (issue 19, items 6 and 7): each gets one clear ValueError.

Covers bounded simulator work (MMPP sojourns, arrival-rate spread, one burst, semantic
branches) and input handling (misspelled keys with the closest valid one, huge integers,
numpy scalars, NaN/inf sampler bounds, a NaN precision target, ``from_json('[]')``) and the
bad paths of ``training evaluate`` and ``scripts.report``: one line, non-zero exit, no
traceback.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from datagen.sampling import (
    ChainLikeConfig,
    EdgeConfig,
    PlacerConfig,
    SimulationConfig,
    config_from_dict,
    config_to_dict,
)
from datagen.sim import (
    MAX_EVENTS,
    MAX_MMPP_SOJOURNS,
    MMPP2Arrivals,
    SimulationLimitError,
    simulate,
)
from datagen.splitting import MAX_BRANCHES, semantic_split
from datagen.world import (
    MMPP2,
    Device,
    Fragment,
    Link,
    Placement,
    Scenario,
    ScenarioError,
    Service,
)
from datagen.zoo import get_profile
from placement.request import RequestError, ServiceRequest

REPO = Path(__file__).resolve().parents[1]


def _scenario() -> Scenario:
    devices = (
        Device("rpi", speed=2e9, memory=8e6, capacity=5),
        Device("edge", speed=5e10, capacity=20, servers=2),
    )
    services = (
        Service("cam", (Fragment("f0", 1e8, weight_bytes=4_000_000, output_bytes=1000),
                        Fragment("f1", 2e8)), arrival_rate=3.0, sla=0.5),
        Service("sem", (Fragment("b0", 5e7, branch=0), Fragment("b1", 5e7, branch=1)),
                arrival_rate=1.0, split="semantic", scv=0.5, mmpp=MMPP2(2.0, 0.25, 3.0),
                source="rpi", input_bytes=3072),
    )
    placement = Placement({"cam": ("rpi", "edge"), "sem": ("rpi", "edge")})
    return Scenario(devices, services, placement, links=(Link("rpi", "edge", 1e7, 0.002),))


def _one_device(*services: Service) -> Scenario:
    return Scenario((Device("d", speed=1e9, capacity=10),), services,
                    Placement({s.name: ("d",) * len(s.fragments) for s in services}))


FRAG = (Fragment("f", macs=1e6),)


def _get(d: dict, path: tuple) -> object:
    for key in path:
        d = d[key]
    return d


def _set(d: dict, path: tuple, value: object) -> None:
    _get(d, path[:-1])[path[-1]] = value  # type: ignore[index]


def _number_paths() -> list[tuple]:
    """Paths of every number in the dict form of :func:`_scenario`."""
    out: list[tuple] = []

    def walk(o: object, pre: tuple) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, (*pre, k))
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, (*pre, i))
        elif isinstance(o, (int, float)) and not isinstance(o, bool):
            out.append(pre)

    walk(_scenario().to_dict(), ())
    return out


NUMBER_PATHS = _number_paths()


# -- item 7: misspelled keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "typo", "where", "close"),
    [
        ((), "servces", "servces", "services"),
        (("devices", 0), "capacty", r"devices\[0\]\.capacty", "capacity"),
        (("links", 0), "bandwith", r"links\[0\]\.bandwith", "bandwidth"),
        (("services", 1), "arival_rate", r"services\[1\]\.arival_rate", "arrival_rate"),
        (("services", 0, "fragments", 1), "weight_byte",
         r"services\[0\]\.fragments\[1\]\.weight_byte", "weight_bytes"),
        (("services", 1, "mmpp"), "peak_factr", r"services\[1\]\.mmpp\.peak_factr", "peak_factor"),
    ],
)
def test_misspelled_scenario_key_names_it_and_the_closest_key(path, typo, where, close):
    d = _scenario().to_dict()
    _get(d, path)[typo] = 2  # type: ignore[index]
    with pytest.raises(ScenarioError, match=rf"{where} is not a known key; did you mean '{close}'"):
        Scenario.from_dict(d)


def test_capacty_typo_no_longer_gives_the_default_capacity():
    d = _scenario().to_dict()
    d["devices"][0]["capacty"] = d["devices"][0].pop("capacity")
    with pytest.raises(ScenarioError, match="capacty .*did you mean 'capacity'"):
        Scenario.from_dict(d)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"regime": "edge", "max_servces": 3}, r"max_servces.*did you mean 'max_services'"),
        ({"regime": "edge", "simulation": {"num_request": 30}},
         r"num_request.*did you mean 'num_requests'"),
        ({"regme": "edge"}, r"regime is missing.*'regme'"),
        ({"regime": "egde"}, r"did you mean 'edge'"),
    ],
)
def test_misspelled_sampler_config_key_names_the_closest_key(data, match):
    with pytest.raises(ValueError, match=match):
        config_from_dict(data)


def test_from_json_of_a_list_says_what_was_expected():
    with pytest.raises(ScenarioError, match=r"scenario must be an object with keys \['devices'"):
        Scenario.from_json("[]")
    with pytest.raises(ScenarioError, match="malformed"):
        Scenario.from_json("[" * 100_000)  # too deep for the JSON parser
    with pytest.raises(ScenarioError, match="JSON file path or JSON text"):
        Scenario.from_json(None)  # type: ignore[arg-type]


# -- item 7: huge integers, numpy scalars ---------------------------------------------------


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["1e400", "-1e400"])
@pytest.mark.parametrize("path", NUMBER_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_huge_integer_in_any_field_is_a_clear_error_naming_it(path, value):
    d = _scenario().to_dict()
    _set(d, path, value)
    with pytest.raises(ScenarioError, match=rf"{path[-1]} must be"):
        Scenario.from_dict(d)


@pytest.mark.parametrize("path", [p for p in NUMBER_PATHS
                                  if isinstance(_get(_scenario().to_dict(), p), int)],
                         ids=lambda p: ".".join(map(str, p)))
def test_integer_fields_refuse_2_pow_63(path):
    d = _scenario().to_dict()
    _set(d, path, 2**63)
    with pytest.raises(ScenarioError, match=rf"{path[-1]} must be an integer <= 2\*\*53"):
        Scenario.from_dict(d)


def test_capacity_2_pow_63_does_not_pass_the_constructor():
    with pytest.raises(ScenarioError, match=r"capacity must be an integer <= 2\*\*53"):
        Device("d", speed=1e9, capacity=2**63)
    with pytest.raises(ScenarioError, match="speed must be finite.*beyond the float range"):
        Device("d", speed=10**400)


def test_numpy_scalars_are_accepted_like_python_numbers():
    d = _scenario().to_dict()
    for path in NUMBER_PATHS:
        v = _get(d, path)
        _set(d, path, np.int64(v) if isinstance(v, int) else np.float64(v))
    assert Scenario.from_dict(d) == _scenario()
    dev = Device("d", speed=np.float32(1e9), memory=np.int64(10), capacity=np.int64(3))
    assert dev.capacity == 3 and type(dev.capacity) is int and type(dev.speed) is float
    assert MMPP2(np.float32(2.0), 0.25, np.int64(3)).peak_factor == 2.0
    sc = _one_device(Service("a", FRAG, arrival_rate=np.float32(1.0)))
    res = simulate(sc, num_requests=np.int64(200), warmup=np.float32(0.1), batches=np.int64(5),
                   seed=np.int64(1))
    assert res.horizon == pytest.approx(200.0)
    cfg = config_from_dict({"regime": "edge", "max_services": np.int64(2),
                            "max_delay": np.float32(0.03),
                            "simulation": {"num_requests": np.int64(100)}})
    assert cfg.max_services == 2 and cfg.simulation.num_requests == 100
    assert ChainLikeConfig(max_capacity=np.int64(20)).max_capacity == 20
    req = ServiceRequest("s", get_profile("resnet18"), np.float32(2.0), sla=np.float64(1.0),
                         k=np.int64(3), branches=np.int64(4), scv=np.float32(0.5))
    assert req.k == 3 and req.arrival_rate == 2.0


def test_simulate_refuses_huge_integers_with_a_named_field():
    sc = _one_device(Service("a", FRAG, arrival_rate=1.0))
    for kwargs, name in [({"num_requests": 10**400}, "num_requests"),
                         ({"horizon": 10**400}, "horizon"), ({"warmup": 10**400}, "warmup"),
                         ({"batches": 2**63}, "batches")]:
        with pytest.raises(ValueError, match=f"{name} must be"):
            simulate(sc, **kwargs)


def test_times_beyond_the_float_range_are_refused_before_simulating():
    sc = Scenario((Device("x", speed=1e-300),), (Service("a", (Fragment("f", 1e300),), 1.0),),
                  Placement({"a": ("x",)}))
    with pytest.raises(ScenarioError, match="fragment 'f'.*takes inf s"):
        simulate(sc, num_requests=10)


# -- item 7: NaN / inf sampler-config bounds ---------------------------------------------------


def _float_fields(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if isinstance(f.default, float)]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 10**400],
                         ids=["nan", "inf", "-inf", "1e400"])
@pytest.mark.parametrize("cls", [ChainLikeConfig, EdgeConfig, PlacerConfig])
def test_non_finite_sampler_bounds_are_refused_at_validation(cls, bad):
    for name in _float_fields(cls):
        with pytest.raises(ValueError, match=rf"{name} must be a finite number"):
            cls(**{name: bad})
        data = {**config_to_dict(cls()), name: bad}
        with pytest.raises(ValueError, match=rf"{name} in sampler config .* finite number"):
            config_from_dict(data)


@pytest.mark.parametrize("cls", [ChainLikeConfig, EdgeConfig, PlacerConfig])
def test_huge_integer_sampler_fields_are_refused(cls):
    for f in fields(cls):
        if isinstance(f.default, int) and not isinstance(f.default, bool):
            with pytest.raises(ValueError, match=rf"{f.name} must be an integer <= "):
                cls(**{f.name: 2**63})


@pytest.mark.parametrize("name", ["target_rel_se_respt", "target_abs_se_tput"])
def test_nan_precision_target_is_refused(name):
    with pytest.raises(ValueError, match=rf"{name} must be a finite number or null"):
        SimulationConfig(**{name: math.nan})
    with pytest.raises(ValueError, match=rf"simulation\.{name} .* finite number or null"):
        config_from_dict({"regime": "chainnet_like", "simulation": {name: math.nan}})


# -- item 6: bounded simulator work ------------------------------------------------------------


@pytest.mark.parametrize("duration", [1e-4, 1e-300])
def test_mmpp_with_tiny_sojourns_is_refused_at_once(duration):
    sc = _one_device(Service("a", FRAG, arrival_rate=1.0, mmpp=MMPP2(2.0, 0.2, duration)))
    t0 = time.perf_counter()
    with pytest.raises(SimulationLimitError,
                       match=r"mmpp\.mean_high_duration=.* of service 'a'.*MAX_MMPP_SOJOURNS"):
        simulate(sc, num_requests=2000)
    assert time.perf_counter() - t0 < 1.0
    with pytest.raises(ValueError, match="mean_high_duration"):
        MMPP2Arrivals(1.0, MMPP2(2.0, 0.2, duration)).sample_gaps(np.random.default_rng(0), 2e3)


def test_mmpp_within_the_sojourn_limit_still_runs():
    # 2 H p / d = 2 * 200 * 0.2 / 1e-3 = 8e4 sojourns: well within the limit.
    assert MAX_MMPP_SOJOURNS >= 1e5
    sc = _one_device(Service("a", FRAG, arrival_rate=10.0, mmpp=MMPP2(2.0, 0.2, 1e-3)))
    assert simulate(sc, num_requests=2000).services.iloc[0].throughput > 0


def test_rate_ratio_of_a_million_is_refused_before_allocating():
    sc = _one_device(Service("slow", FRAG, arrival_rate=1e-3), Service("fast", FRAG, 1e3))
    t0 = time.perf_counter()
    with pytest.raises(SimulationLimitError,
                       match=r"service 'fast' \(arrival_rate=1000 .* 1e\+06 times .*'slow'"):
        simulate(sc, num_requests=2000)
    assert time.perf_counter() - t0 < 1.0
    with pytest.raises(SimulationLimitError, match="max_events=1e\\+06"):
        simulate(sc, num_requests=2000, max_events=1e6)


def test_one_huge_burst_and_an_infinite_horizon_are_refused():
    burst = _one_device(Service("a", FRAG, arrival_rate=1.0, mmpp=MMPP2(1e12, 1e-12, 1e3)))
    with pytest.raises(SimulationLimitError, match="one burst of service 'a'"):
        simulate(burst, num_requests=100)
    tiny = _one_device(Service("a", FRAG, arrival_rate=5e-324), Service("b", FRAG, 1.0))
    with pytest.raises(SimulationLimitError, match="slowest service 'a'.*inf s"):
        simulate(tiny, num_requests=100)


def test_sequential_stopping_stops_at_the_work_limit():
    sc = _one_device(Service("a", FRAG, arrival_rate=1.0), Service("b", FRAG, 10.0))
    res = simulate(sc, num_requests=1000, target_rel_ci=1e-9, max_events=1e5)
    # each request is an arrival plus one visit: E = H * (1 + 10) * 2 <= 1e5
    assert res.horizon == pytest.approx(1e5 / 22, rel=1e-6)
    assert MAX_EVENTS >= 2e8  # the largest packaged labelling run needs about 1.9e8


def test_semantic_branches_are_bounded_like_k():
    profile = get_profile("resnet18")
    assert len(semantic_split(profile, MAX_BRANCHES)) == MAX_BRANCHES
    for bad in (MAX_BRANCHES + 1, 1000, 10**400):
        with pytest.raises(ValueError, match=rf"branches must be <= {MAX_BRANCHES}"):
            semantic_split(profile, bad)
        with pytest.raises(RequestError, match=rf"branches must be <= {MAX_BRANCHES}"):
            ServiceRequest("s", profile, 1.0, branches=bad)
    with pytest.raises(RequestError, match="branches must be an integer >= 2"):
        ServiceRequest("s", profile, 1.0, branches=1)
    with pytest.raises(RequestError, match=r"k must be <= 12 \(the layers with MACs > 0"):
        ServiceRequest("s", profile, 1.0, k=1000)
    with pytest.raises(ValueError, match=rf"max_branches must be <= {MAX_BRANCHES}"):
        EdgeConfig(max_branches=1000)


# -- item 7: CLI bad paths -------------------------------------------------------------------


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """A 6-sample chainnet_like dataset and two surrogate checkpoints: sane and NaN weights."""
    import torch

    from chainnet import ChainNet, Surrogate, build_batch
    from datagen.dataset import generate
    from datagen.sampling import load_sampler_config

    root = tmp_path_factory.mktemp("hostile")
    config = replace(load_sampler_config("chainnet_like"),
                     simulation=SimulationConfig(num_requests=200, max_num_requests=400))
    generate(config, root / "data", 6, seed=1, shard_size=6, progress=False)
    from training.samples import load_samples

    model = ChainNet(hidden_channels=8)
    model.normalizer.fit(build_batch([s for s, _, _ in load_samples(root / "data")]))
    Surrogate(model).save(root / "ok.pt")
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(math.nan)
    Surrogate(model).save(root / "nan.pt")
    (root / "garbage.pt").write_bytes(b"not a checkpoint")
    return root


def test_evaluate_with_nan_weights_exits_non_zero_with_one_line(labelled):
    proc = _run(["training", "evaluate", "--model", str(labelled / "nan.pt"),
                 "--data.test", str(labelled / "data")])
    line = _one_line_error(proc)
    assert "nan%" not in proc.stdout
    assert "predicted NaN tput_ratio" in line and "weights NaN" in line


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--model", "{root}/garbage.pt", "--data.test", "{root}/data"],
         "cannot read surrogate"),
        (["--model", "analytic", "--data.test", "{root}"], "is not a dataset"),
        (["--model", "analytic", "--data.test", "{root}/data", "--record",
          "{root}/garbage.pt"], "cannot read surrogate"),
        (["--model", "analytic", "--data.test", "{root}/data", "--data.format", "chainnet"],
         "numClasses.txt"),
    ],
    ids=["garbage-checkpoint", "not-a-dataset", "garbage-record", "wrong-format"],
)
def test_evaluate_prints_one_line_for_package_errors(labelled, capsys, args, match):
    from training.evaluate import main

    with pytest.raises(SystemExit) as exc:
        main([a.format(root=labelled) for a in args])
    assert exc.value.code == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and match in err[0], err


def test_evaluate_prints_n_a_for_metrics_without_labels(labelled, capsys):
    from training.evaluate import main

    main(["--model", "analytic", "--data.test", str(labelled / "data")])
    out = capsys.readouterr().out
    assert "n/a" in out and "nan%" not in out  # the analytic model flags nothing


def test_report_empty_sections_fail_with_one_line(tmp_path):
    line = _one_line_error(_run(["scripts.report", "--out", str(tmp_path / "r"),
                                 "--sections", ","], timeout=60))
    assert "names no section" in line
    assert not (tmp_path / "r").exists()


def test_report_out_that_is_a_file_fails_with_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    line = _one_line_error(_run(["scripts.report", "--out", str(tmp_path / "file"),
                                 "--sections", "simulator"], timeout=60))
    assert "is a file, not a folder" in line


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--out", "{tmp}/file/sub", "--sections", "simulator"], "not a writable folder"),
        (["--out", "{tmp}/r", "--sections", "simulatr"], "did you mean 'simulator'"),
    ],
)
def test_report_bad_out_and_sections_in_process(tmp_path, capsys, args, match):
    from scripts.report import main

    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exc:
        main([a.format(tmp=tmp_path) for a in args])
    assert exc.value.code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and match in err[0], err


def test_report_missing_model_is_one_line(tmp_path, capsys) -> None:
    from scripts import report

    with pytest.raises(SystemExit) as exc:
        report.main(["--out", str(tmp_path / "r"), "--model", str(tmp_path / "missing.pt")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]
