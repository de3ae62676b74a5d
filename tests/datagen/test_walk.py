"""Tests of the one scenario walker (datagen.walk)."""

from __future__ import annotations

import numpy as np
import pytest

from datagen.sampling import load_sampler_config, sample_scenario
from datagen.sim.compiled import compile_scenario
from datagen.walk import (
    Hop,
    device_capacity,
    device_load,
    load_share,
    offered_load,
    offered_load_arrays,
    placed_services,
    service_times,
    walk,
    walk_arrays,
    walk_service,
)
from datagen.world import Device, Fragment, Link, Placement, Scenario, Service


def _scenario() -> Scenario:
    devices = (Device("a", speed=10.0, servers=2, capacity=4), Device("b", speed=5.0))
    layer = Service(
        "s",
        (Fragment("f0", 10.0, output_bytes=100), Fragment("f1", 5.0, output_bytes=7)),
        arrival_rate=2.0,
        source="b",
        input_bytes=50,
    )
    fork = Service(
        "t",
        (Fragment("g0", 4.0, branch=0), Fragment("g1", 6.0, branch=1)),
        arrival_rate=1.0,
        split="semantic",
    )
    return Scenario(
        devices,
        (layer, fork),
        Placement({"s": ("a", "b"), "t": ("a", "b")}),
        (Link("a", "b", bandwidth=1000.0, delay=0.01),),
    )


def test_hops_follow_the_transfer_rule() -> None:
    scn = _scenario()
    link = scn.links[0]
    s, t = walk(scn)
    # input from the source b to a, f0 on a, its output over the link to b, f1 on b
    assert s.branches == (
        (Hop(-1, "a", link, 50), Hop(0, "a"), Hop(-1, "b", link, 100), Hop(1, "b")),
    )
    # a semantic split has one path per branch; no source, so no input transfer
    assert t.branches == ((Hop(0, "a"),), (Hop(1, "b"),))
    assert walk_service(scn, scn.services[1]) == t


def test_offered_load_per_server() -> None:
    scn = _scenario()
    rho = offered_load(scn.devices, placed_services(scn))
    assert rho == pytest.approx({"a": (2 * 10 + 1 * 4) / 20, "b": (2 * 5 + 1 * 6) / 5})
    assert offered_load(scn.devices, placed_services(None)) == {"a": 0.0, "b": 0.0}


@pytest.mark.parametrize("regime", ["edge", "placer"])
def test_compiler_station_visits_match_the_walk(regime: str) -> None:
    scn = sample_scenario(load_sampler_config(regime), np.random.default_rng(3))
    visits = compile_scenario(scn).station_visits_per_request()
    for c, sw in enumerate(walk(scn)):
        hops = [h for branch in sw.branches for h in branch]
        on_devices = sum(1 for h in hops if h.link is None)
        sent = sum(1 for h in hops if h.link is not None and h.nbytes > 0)
        assert visits[c, : len(scn.devices)].sum() == on_devices
        assert visits[c, len(scn.devices):].sum() == sent


def _flat(scenarios: list[Scenario]) -> tuple[dict[str, object], np.ndarray, np.ndarray]:
    """The arguments of ``walk_arrays`` for ``scenarios`` (global indices), plus each fragment's
    load ``lambda * macs / effective speed`` and each device's servers."""
    cols: dict[str, list[float]] = {k: [] for k in (
        "fragment_service", "fragment_branch", "fragment_device", "fragment_output_bytes",
        "service_num_branches", "service_source", "service_input_bytes", "link_a", "link_b")}
    load: list[float] = []
    servers: list[float] = []
    for scn in scenarios:
        index = {d.name: len(servers) + i for i, d in enumerate(scn.devices)}
        speed = {d.name: d.effective_speed for d in scn.devices}
        servers += [float(d.servers) for d in scn.devices]
        for svc in scn.services:
            sid = len(cols["service_num_branches"])
            cols["service_num_branches"].append(svc.num_branches)
            cols["service_source"].append(-1 if svc.source is None else index[svc.source])
            cols["service_input_bytes"].append(svc.input_bytes)
            for frag, dev in zip(svc.fragments, scn.placement[svc.name]):
                cols["fragment_service"].append(sid)
                cols["fragment_branch"].append(frag.branch)
                cols["fragment_device"].append(index[dev])
                cols["fragment_output_bytes"].append(frag.output_bytes)
                load.append(svc.arrival_rate * (frag.macs / speed[dev]))
        for link in scn.links:
            cols["link_a"].append(index[link.a])
            cols["link_b"].append(index[link.b])
    floats = ("fragment_output_bytes", "service_input_bytes")
    kwargs: dict[str, object] = {
        k: np.asarray(v, dtype=np.float64 if k in floats else np.int64) for k, v in cols.items()
    }
    kwargs["num_devices"] = len(servers)
    return kwargs, np.asarray(load), np.asarray(servers)


def _sampled(n: int) -> list[Scenario]:
    rng = np.random.default_rng(17)
    return [
        sample_scenario(load_sampler_config(regime), rng)
        for regime in ("edge", "placer", "chainnet_like") for _ in range(n)
    ]


def _multi_server(scenarios: list[Scenario]) -> list[Scenario]:
    """The scenarios with 1-3 servers and a reserved share on their devices."""
    import dataclasses

    rng = np.random.default_rng(4)
    out = []
    for scn in scenarios:
        devices = []
        for d in scn.devices:
            c = int(rng.integers(1, 4))
            devices.append(dataclasses.replace(
                d, servers=c, capacity=max(c, d.capacity), reserved_share=0.25))
        out.append(dataclasses.replace(scn, devices=tuple(devices)))
    return out


def test_walk_arrays_gives_the_hops_of_walk() -> None:
    # several scenarios in one call, with global indices, as the graph builder does
    scenarios = [_scenario(), *_sampled(6), *_multi_server(_sampled(2))]
    kwargs, _, _ = _flat(scenarios)
    w = walk_arrays(**kwargs)  # type: ignore[arg-type]
    assert np.array_equal(w.path_length, np.bincount(w.fragment_path))
    frag = path = link_base = 0
    for scn in scenarios:
        for sw in walk(scn):
            placed, n = sw.devices, len(sw.service.fragments)
            ids = np.arange(frag, frag + n)
            branches = []
            for b in range(sw.service.num_branches):
                assert w.path_service[path + b] == w.path_service[path]
                on_path = ids[w.fragment_path[ids] == path + b]
                hops: list[Hop] = []
                for g in on_path[np.argsort(w.fragment_pos[on_path])]:
                    i = int(g) - frag
                    link = int(w.fragment_in_link[g])
                    if link >= 0:
                        nbytes = w.fragment_in_bytes[g]
                        hops.append(Hop(-1, placed[i], scn.links[link - link_base], int(nbytes)))
                    hops.append(Hop(i, placed[i]))
                branches.append(tuple(hops))
            assert tuple(branches) == sw.branches
            frag, path = frag + n, path + len(branches)
        link_base += len(scn.links)
    assert frag == w.fragment_path.shape[0] and path == w.path_length.shape[0]
    prev = w.fragment_prev
    assert np.array_equal(w.fragment_pos[prev[prev >= 0]] + 1, w.fragment_pos[prev >= 0])


def test_offered_load_arrays_is_offered_load() -> None:
    single = _sampled(5)
    for scenarios, exact in ((single, True), (_multi_server(single), False)):
        kwargs, load, servers = _flat(scenarios)
        work, rho = offered_load_arrays(kwargs["fragment_device"], load, servers)  # type: ignore[arg-type]
        assert np.array_equal(work / servers, rho)
        expected = [
            v for scn in scenarios for v in offered_load(scn.devices, placed_services(scn)).values()
        ]
        if exact:  # single-server devices: bit for bit
            assert np.array_equal(rho, expected)
        else:
            np.testing.assert_allclose(rho, expected, rtol=1e-14, atol=0.0)


def test_service_times_per_server() -> None:
    scn = _scenario()
    times = list(service_times(scn.devices, placed_services(scn)))
    s, t = scn.services
    assert [(svc.name, i, dev) for svc, i, dev, _ in times] == [
        ("s", 0, "a"), ("s", 1, "b"), ("t", 0, "a"), ("t", 1, "b")]
    assert [m for *_, m in times] == [10 / 20, 5 / 5, 4 / 20, 6 / 5]
    # fragments on unknown devices are skipped, as in offered_load
    assert [i for _, i, _, _ in service_times(scn.devices[:1], [(s, ("a", "b"))])] == [0]


def _work_arrays(scenarios: list[Scenario]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fragment devices (global indices), fragment work and device capacities of scenarios."""
    devs: list[int] = []
    work: list[float] = []
    capacity: list[np.ndarray] = []
    base = 0
    for scn in scenarios:
        index = {d.name: base + i for i, d in enumerate(scn.devices)}
        for svc in scn.services:
            for frag, dev in zip(svc.fragments, scn.placement[svc.name]):
                devs.append(index[dev])
                work.append(svc.arrival_rate * frag.macs)
        capacity.append(device_capacity(scn.devices))
        base += len(scn.devices)
    return np.asarray(devs, dtype=np.int64), np.asarray(work), np.concatenate(capacity)


def test_device_capacity_and_load_share() -> None:
    scn = _scenario()
    cap = device_capacity(scn.devices)
    assert cap.dtype == np.float64 and cap.tolist() == [20.0, 5.0]
    assert device_capacity(()).shape == (0,)
    assert load_share(2.0 * 10.0, cap[0]) == 1.0
    np.testing.assert_array_equal(load_share(10.0, cap), [0.5, 2.0])


def test_device_load_is_offered_load() -> None:
    scn = _scenario()
    rho = device_load(*_work_arrays([scn]))
    expected = offered_load(scn.devices, placed_services(scn))
    assert rho.tolist() == pytest.approx(list(expected.values()))
    # idle devices and an empty assignment are 0.0, always float
    empty = device_load(np.zeros(0, dtype=np.int64), np.zeros(0), device_capacity(scn.devices))
    assert empty.dtype == np.float64 and empty.tolist() == [0.0, 0.0]
    # sampled scenarios, concatenated, single- and multi-server: the same loads as the object
    # form up to rounding, and the same bits as offered_load_arrays on the same work
    single = _sampled(5)
    for scenarios in (single, _multi_server(single)):
        devs, work, cap = _work_arrays(scenarios)
        rho = device_load(devs, work, cap)
        assert np.array_equal(rho, offered_load_arrays(devs, work, cap)[1])
        every = [
            v for scn in scenarios for v in offered_load(scn.devices, placed_services(scn)).values()
        ]
        np.testing.assert_allclose(rho, every, rtol=1e-14, atol=0.0)
        # one fragment at a time with load_share: the same loads up to rounding
        step = np.zeros_like(cap)
        for d, w in zip(devs, work):
            step[d] += load_share(w, cap[d])
        np.testing.assert_allclose(step, rho, rtol=1e-14, atol=0.0)
