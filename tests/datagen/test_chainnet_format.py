"""Tests of the ChainNet text format reader/writer (spec: shared/specs/chainnet-format.md)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datagen.chainnet_format import (
    CHAINNET_FILES,
    LABEL_COLUMNS,
    ChainNetFormatError,
    chainnet_incompatibilities,
    read_chainnet,
    write_chainnet,
)
from datagen.sampling import load_sampler_config, sample_scenario
from datagen.world import Device, Fragment, Link, Placement, Scenario, Service

# The synthetic example of the spec (two samples, three chains) plus made-up labels.
SPEC_EXAMPLE = {
    "numClasses.txt": "1\n2\n",
    "numNodes.txt": "3\n3\n",
    "capacity.txt": "4 10 2\n5 5 20\n",
    "capacityRatio.txt": "0.25 0.1 0.5\n0.2 0.4 0.05\n",
    "arrival.txt": "2.0\n4.0\n5.0\n",
    "path.txt": "1 2 3\n1 2\n2 3\n",
    "service.txt": "0.5 1.2 0.8\n1.0 0.6\n0.4 2.0\n",
    "serRatio.txt": "0.25 0.6 0.4\n0.25 0.15\n0.08 0.4\n",
    "serStatProp.txt": "1 1 1\n1 0.6\n0.4 1\n",
    "classCapacityRatio.txt": "0.25 0.1 0.5\n0.2 0.2\n0.2 0.05\n",
    "throughput.txt": "0.45\n0.248\n0.19\n",
    "tputRatio.txt": "0.9\n0.992\n0.95\n",
    "responseTime.txt": "5.0\n2.0\n3.0\n",
    "resptRatio.txt": "0.5\n0.8\n0.8\n",
}


def write_files(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    return write_files(tmp_path / "raw", SPEC_EXAMPLE)


def assert_samples_equal(a, b) -> None:
    assert len(a) == len(b)
    for (sa, la), (sb, lb) in zip(a, b):
        assert sa == sb
        pd.testing.assert_frame_equal(la, lb)


def test_spec_example_reads(spec_dir: Path) -> None:
    samples = read_chainnet(spec_dir)
    assert len(samples) == 2
    s1, l1 = samples[0]
    assert [d.capacity for d in s1.devices] == [4, 10, 2]
    assert all(d.speed == 1.0 for d in s1.devices)
    assert s1.services[0].arrival_rate == pytest.approx(0.5)
    assert [f.macs for f in s1.services[0].fragments] == [0.5, 1.2, 0.8]
    assert s1.placement["s1"] == ("d1", "d2", "d3")
    s2, l2 = samples[1]
    assert [s.name for s in s2.services] == ["s1", "s2"]
    assert s2.placement["s2"] == ("d2", "d3")
    assert s2.services[1].arrival_rate == pytest.approx(0.2)
    assert list(l2.columns) == list(LABEL_COLUMNS)
    assert list(l2.index) == ["s1", "s2"]
    assert l2.loc["s2", "throughput"] == 0.19
    assert l2.loc["s2", "loss_ratio"] == pytest.approx(0.05)
    assert l1.loc["s1", "latency_mean"] == 5.0


def test_spec_example_round_trips(spec_dir: Path, tmp_path: Path) -> None:
    x = read_chainnet(spec_dir)
    out = write_chainnet(x, tmp_path / "copy")
    assert sorted(p.name for p in out.iterdir()) == sorted(CHAINNET_FILES)
    assert_samples_equal(read_chainnet(out), x)
    # Derived files written by us agree with the spec's values.
    for name in ("capacityRatio.txt", "serRatio.txt", "serStatProp.txt", "classCapacityRatio.txt"):
        ours = [[float(v) for v in ln.split()] for ln in (out / name).read_text().splitlines()]
        spec = [[float(v) for v in ln.split()] for ln in SPEC_EXAMPLE[name].splitlines()]
        for a, b in zip(ours, spec, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_sampled_round_trip_is_exact(tmp_path: Path) -> None:
    cfg = load_sampler_config("chainnet_like")
    rng = np.random.default_rng(3)
    x = []
    for _ in range(40):
        sc = sample_scenario(cfg, rng)
        names = [s.name for s in sc.services]
        lab = pd.DataFrame(rng.uniform(0.01, 1, size=(len(names), 4)), index=names,
                           columns=["throughput", "tput_ratio", "latency_mean", "respt_ratio"])
        lab["loss_ratio"] = 1.0 - lab["tput_ratio"]
        x.append((sc, lab))
    assert_samples_equal(read_chainnet(write_chainnet(x, tmp_path / "w")), x)


@pytest.mark.parametrize(
    "drop",
    [["service.txt"], ["serRatio.txt", "capacityRatio.txt", "classCapacityRatio.txt",
                       "serStatProp.txt", "numNodes.txt"], ["capacity.txt"],
     ["throughput.txt"], ["resptRatio.txt"]],
)
def test_rebuilds_missing_derived_files(tmp_path: Path, drop: list[str]) -> None:
    full = read_chainnet(write_files(tmp_path / "full", SPEC_EXAMPLE))
    files = {k: v for k, v in SPEC_EXAMPLE.items() if k not in drop}
    got = read_chainnet(write_files(tmp_path / "part", files))
    for (sa, la), (sb, lb) in zip(got, full):
        assert [d.capacity for d in sa.devices] == [d.capacity for d in sb.devices]
        for fa, fb in zip(sa.services, sb.services):
            np.testing.assert_allclose([f.macs for f in fa.fragments],
                                       [f.macs for f in fb.fragments])
        # tputRatio is "an estimate of its own": rebuilt values agree approximately.
        np.testing.assert_allclose(la.to_numpy(), lb.to_numpy(), rtol=0.05)


def test_missing_unrebuildable_file_names_field(tmp_path: Path) -> None:
    files = {k: v for k, v in SPEC_EXAMPLE.items() if k not in ("service.txt", "serRatio.txt")}
    with pytest.raises(ChainNetFormatError, match="service times"):
        read_chainnet(write_files(tmp_path / "a", files))
    files = {k: v for k, v in SPEC_EXAMPLE.items() if k != "path.txt"}
    with pytest.raises(ChainNetFormatError, match="path.txt is missing.*device path"):
        read_chainnet(write_files(tmp_path / "b", files))
    files = {k: v for k, v in SPEC_EXAMPLE.items()
             if k not in ("throughput.txt", "tputRatio.txt")}
    with pytest.raises(ChainNetFormatError, match="throughput"):
        read_chainnet(write_files(tmp_path / "c", files))
    unl = read_chainnet(write_files(tmp_path / "c2", files), require_labels=False)
    assert math.isnan(unl[0][1].loc["s1", "throughput"])


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("arrival.txt", "2.0\n4.0\n", r"arrival.txt has 2 lines .*\(line 3 is missing"),
        ("path.txt", "1 2 3\n1 2\n2 3\n1 2\n", r"path.txt has 4 lines .*\(line 4 is extra"),
        ("service.txt", "0.5 1.2 0.8\n1.0 x\n0.4 2.0\n", r"service.txt line 2: cannot parse 'x'"),
        ("service.txt", "0.5 1.2\n1.0 0.6\n0.4 2.0\n", r"service.txt line 1: expected 3 values"),
        ("path.txt", "1 2 3\n1 4\n2 3\n", r"path.txt line 2: device 4 is out of range"),
        ("capacity.txt", "4 10 2.5\n5 5 20\n", r"capacity.txt line 1: expected an integer"),
        ("arrival.txt", "2.0\n\n4.0\n5.0\n", r"arrival.txt line 2: empty line"),
        # Shifted lines of a redundant file are caught by the cross-check.
        ("serRatio.txt", "0.25 0.15\n0.25 0.6 0.4\n0.08 0.4\n", r"serRatio.txt line 1"),
        ("serStatProp.txt", "1 1 1\n0.6 1\n0.4 1\n", r"serStatProp.txt line 2: values"),
        ("numClasses.txt", "1\n3\n", r"has 3 lines but numClasses.txt \(sum = 4 chains\)"),
    ],
)
def test_garbled_or_misaligned_names_file_and_line(
    tmp_path: Path, name: str, text: str, match: str
) -> None:
    files = dict(SPEC_EXAMPLE)
    files[name] = text
    with pytest.raises(ChainNetFormatError, match=match):
        read_chainnet(write_files(tmp_path / "raw", files))


def test_padded_lines_are_accepted(tmp_path: Path) -> None:
    files = {k: "".join(f"{ln}   \n" for ln in v.splitlines()) for k, v in SPEC_EXAMPLE.items()}
    assert_samples_equal(read_chainnet(write_files(tmp_path / "p", files)),
                         read_chainnet(write_files(tmp_path / "q", SPEC_EXAMPLE)))


def test_writer_refuses_outside_the_model(tmp_path: Path) -> None:
    devs = (Device("a", 1.0, capacity=4, servers=2), Device("b", 1.0))
    svc = Service("s", (Fragment("f0", 1.0), Fragment("f1", 1.0)), 1.0, scv=1.0)
    sc = Scenario(devs, (svc,), Placement({"s": ("a", "b")}), links=(Link("a", "b", 1e6),))
    reasons = chainnet_incompatibilities(sc)
    assert len(reasons) == 3
    lab = pd.DataFrame({"throughput": [1.0], "tput_ratio": [1.0], "latency_mean": [1.0],
                        "respt_ratio": [1.0]}, index=["s"])
    with pytest.raises(ValueError, match="sample 0 cannot be written.*links.*servers.*SCV"):
        write_chainnet([(sc, lab)], tmp_path / "x")


def test_round_trip_property(tmp_path_factory: pytest.TempPathFactory) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    cfg = load_sampler_config("large")

    @settings(max_examples=15, deadline=None)
    @given(seed=st.integers(0, 2**32 - 1), value=st.floats(1e-9, 1e9))
    def check(seed: int, value: float) -> None:
        rng = np.random.default_rng(seed)
        sc = sample_scenario(cfg, rng)
        names = [s.name for s in sc.services]
        lab = pd.DataFrame({"throughput": value, "tput_ratio": rng.uniform(0, 1, len(names)),
                            "latency_mean": 1 / value, "respt_ratio": 0.5}, index=names)
        lab["loss_ratio"] = 1.0 - lab["tput_ratio"]
        out = write_chainnet([(sc, lab)], tmp_path_factory.mktemp("h"))
        assert_samples_equal(read_chainnet(out), [(sc, lab)])

    check()
