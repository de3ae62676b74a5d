"""compile_arrays (flat arrays -> analytic stations) equals compile_scenarios bit for bit."""

import dataclasses

import numpy as np
import pytest

from chainnet import AnalyticSurrogate
from chainnet.analytic_paths import Compiled, compile_arrays, compile_scenarios
from chainnet.builder import scenarios_to_arrays, tile_arrays
from chainnet.structure import compute_structure
from datagen.world import Device, Fragment, Link, Placement, Scenario, Service
from tests.chainnet.conftest import make_semantic_scenario, placed_like, sample_scenarios

_NAMES = ("dev_name", "svc_name")


def _assert_same(a: Compiled, b: Compiled) -> None:
    for f in dataclasses.fields(Compiled):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in _NAMES:
            assert len(x) == len(y), f.name
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f.name
            assert np.array_equal(x, y), f.name
        else:
            assert x == y, f.name


def _edge_cases() -> Scenario:
    """Runs on one device, fork-join branches starting together, skipped and delay-only links."""
    devs = (
        Device("a", speed=1e9, capacity=4),
        Device("b", speed=2e9, capacity=6, servers=3, reserved_share=0.1),
        Device("c", speed=7e8, capacity=2),
    )
    run = Service(  # a, a, b, b, a: two runs and a revisit; source c sends 0 bytes
        "run",
        tuple(Fragment(f"r{i}", 1e8 * (i + 1), output_bytes=0 if i == 1 else 100 * i)
              for i in range(5)),
        arrival_rate=1.5, scv=2.0, source="c", input_bytes=0,
    )
    fork = Service(  # four branches: three start on b (one batch), one on a
        "fork",
        (Fragment("x0", 2e8, branch=0, output_bytes=50), Fragment("x1", 1e8, branch=1),
         Fragment("x2", 3e8, branch=2, output_bytes=70), Fragment("x3", 1e8, branch=3),
         Fragment("x4", 1e8, branch=0), Fragment("x5", 5e7, branch=2)),
        arrival_rate=0.8, split="semantic", scv=0.0, source="a", input_bytes=400,
    )
    return Scenario(
        devs, (run, fork),
        Placement({"run": ("a", "a", "b", "b", "a"),
                   "fork": ("b", "a", "b", "b", "c", "b")}),
        links=(Link("a", "b", 1e6, 0.0), Link("c", "a", 5e5, 0.02), Link("b", "c", 1e7)),
    )


@pytest.fixture(scope="module")
def varied() -> list[Scenario]:
    return ([make_semantic_scenario(), _edge_cases()] + sample_scenarios("placer", 40, seed=7)
            + sample_scenarios("edge", 20, seed=1) + sample_scenarios("chainnet_like", 12, seed=2))


def test_the_varied_set_covers_the_cases(varied):
    cs = compile_scenarios(varied)
    assert cs.b_max > 2 and (cs.v_bsize > 1).sum() > 10  # fork-join batches on one device
    assert cs.v_cont.sum() > 10  # runs of consecutive fragments on one device
    assert (~cs.v_is_dev).sum() > 10 and cs.n_links > 0  # link visits
    assert any(s.mmpp is not None for sc in varied for s in sc.services)
    assert (cs.dev_c > 1).any()


def test_compile_arrays_equals_compile_scenarios(varied):
    _assert_same(compile_arrays(scenarios_to_arrays(varied)), compile_scenarios(varied))
    for sc in varied[:12]:  # one scenario at a time (the Surrogate's batch 1)
        a = scenarios_to_arrays([sc])
        _assert_same(compile_arrays(a, compute_structure(a)), compile_scenarios([sc]))


def test_compile_arrays_of_tiled_assignments(varied):
    base = varied[1]
    arr = scenarios_to_arrays([base])
    rng = np.random.default_rng(0)
    devices = rng.integers(0, len(base.devices), size=(6, arr.fragment_device.shape[0]))
    scenarios = placed_like(base, devices)
    _assert_same(compile_arrays(tile_arrays(arr, devices)), compile_scenarios(scenarios))


def test_names_are_placeholders_unless_given(semantic_scenario):
    a = scenarios_to_arrays([semantic_scenario])
    cs = compile_arrays(a)
    assert cs.dev_name == ["device0", "device1", "device2", "device3"]
    assert cs.svc_name == ["service0", "service1"]
    ref = compile_scenarios([semantic_scenario])
    named = compile_arrays(a, device_names=ref.dev_name, service_names=ref.svc_name)
    assert named.dev_name == ref.dev_name and named.svc_name == ref.svc_name
    with pytest.raises(ValueError, match="device_names must hold 4"):
        compile_arrays(a, device_names=["a"])
    with pytest.raises(ValueError, match="ScenarioArrays"):
        compile_arrays([semantic_scenario])  # type: ignore[arg-type]


def test_loss_ratios_arrays_equals_loss_ratios(varied):
    an = AnalyticSurrogate()
    a = scenarios_to_arrays(varied)
    np.testing.assert_array_equal(an.loss_ratios_arrays(a), an.loss_ratios(varied))
    np.testing.assert_array_equal(an.loss_ratios_arrays(a, compute_structure(a)),
                                  an.loss_ratios(varied))
    one = varied[:1]
    np.testing.assert_array_equal(an.loss_ratios_arrays(scenarios_to_arrays(one)),
                                  an.loss_ratios(one))
    with pytest.raises(ValueError, match="loss_ratios for Scenario"):
        an.loss_ratios_arrays(varied)  # type: ignore[arg-type]


def test_predict_arrays_equals_predict(varied):
    import pandas as pd

    an = AnalyticSurrogate()
    names = [svc.name for sc in varied for svc in sc.services]
    got = an.predict_arrays(scenarios_to_arrays(varied), names)
    pd.testing.assert_frame_equal(got, an.predict(varied), check_exact=True)
    with pytest.raises(ValueError, match="name each of the"):
        an.predict_arrays(scenarios_to_arrays(varied), names[:-1])
    with pytest.raises(ValueError, match="use predict for Scenario"):
        an.predict_arrays(varied, names)  # type: ignore[arg-type]

