import dataclasses

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, HeteroData

from chainnet import build_batch, build_graph
from chainnet.builder import scenarios_to_arrays
from chainnet.features import compute_features, compute_structure
from chainnet.schema import (
    DEVICE,
    EDGE_TYPES,
    FEATURES,
    FRAGMENT_NEXT_FRAGMENT,
    FRAGMENT_SENDS_OVER_LINK,
    NODE_TYPES,
    PRIORS,
)
from datagen.walk import offered_load, placed_services, walk
from datagen.world import Scenario
from tests.chainnet.conftest import sample_scenarios


def scale_time(sc: Scenario, c: float) -> Scenario:
    """Multiply every time of ``sc`` by ``c`` (rates and speeds divided by ``c``)."""
    devices = tuple(dataclasses.replace(d, speed=d.speed / c) for d in sc.devices)
    services = tuple(
        dataclasses.replace(
            s,
            arrival_rate=s.arrival_rate / c,
            sla=s.sla * c,
            mmpp=None if s.mmpp is None else dataclasses.replace(
                s.mmpp, mean_high_duration=s.mmpp.mean_high_duration * c),
        )
        for s in sc.services
    )
    links = tuple(
        dataclasses.replace(x, bandwidth=x.bandwidth / c, delay=x.delay * c) for x in sc.links
    )
    return Scenario(devices, services, sc.placement, links)


def test_build_graph_follows_schema(semantic_scenario):
    g = build_graph(semantic_scenario)
    assert isinstance(g, HeteroData)
    assert set(g.node_types) == set(NODE_TYPES)
    assert set(g.edge_types) == set(EDGE_TYPES)
    for nt in NODE_TYPES:
        assert g[nt].x.shape[1] == len(FEATURES[nt])
        assert torch.isfinite(g[nt].x).all()
    for nt, names in PRIORS.items():
        assert g[nt].prior.shape == (g[nt].num_nodes, len(names))
        ratios = g[nt].prior[:, :2]
        assert ((ratios >= 0) & (ratios <= 1)).all()
    assert (g["service"].prior[:, 2] >= 1).all()
    assert g["service"].num_nodes == 2 and g["fragment"].num_nodes == 6
    assert g["device"].num_nodes == 4 and g["link"].num_nodes == 2
    assert g[FRAGMENT_NEXT_FRAGMENT].edge_index.tolist() == [[0, 1, 3], [1, 2, 5]]
    assert g[FRAGMENT_SENDS_OVER_LINK].edge_index.tolist() == [[1, 2, 5], [0, 1, 0]]
    assert g["fragment"].path_batch.tolist() == [0, 0, 0, 1, 2, 1]
    assert g.validate()


def test_build_graph_without_links(chainnet_scenarios):
    g = build_graph(chainnet_scenarios[0])
    assert g["link"].num_nodes == 0 and g["link"].x.shape == (0, len(FEATURES["link"]))
    assert g[FRAGMENT_SENDS_OVER_LINK].edge_index.shape == (2, 0)


def _assert_same(b1, b2):
    for nt in NODE_TYPES:
        for key in ("x", "prior", "arrival_rate", "time_scale", "path_batch", "path_pos",
                    "batch", "ptr"):
            if key in b1[nt]:
                assert torch.equal(b1[nt][key], b2[nt][key]), (nt, key)
    for et in EDGE_TYPES:
        assert torch.equal(b1[et].edge_index, b2[et].edge_index), et


def test_build_batch_equals_collated_graphs(edge_scenarios, semantic_scenario):
    scenarios = [*edge_scenarios, semantic_scenario, edge_scenarios[0]]
    fast = build_batch(scenarios, validate=True)
    slow = Batch.from_data_list([build_graph(s) for s in scenarios])
    assert fast.num_graphs == len(scenarios)
    _assert_same(fast, slow)


def test_build_batch_mixed_links_and_no_links(edge_scenarios, chainnet_scenarios):
    scenarios = [chainnet_scenarios[0], edge_scenarios[0], chainnet_scenarios[1]]
    fast = build_batch(scenarios)
    slow = Batch.from_data_list([build_graph(s) for s in scenarios])
    _assert_same(fast, slow)


@pytest.mark.parametrize("c", [1e-3, 7.5, 1e4])
def test_features_are_time_scale_free(edge_scenarios, semantic_scenario, c):
    scenarios = [*edge_scenarios[:6], semantic_scenario]
    b1 = build_batch(scenarios)
    b2 = build_batch([scale_time(s, c) for s in scenarios])
    for nt in NODE_TYPES:
        np.testing.assert_allclose(b1[nt].x.numpy(), b2[nt].x.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=nt)
    for nt in PRIORS:
        np.testing.assert_allclose(b1[nt].prior.numpy(), b2[nt].prior.numpy(), rtol=1e-4,
                                   atol=1e-6)
    np.testing.assert_allclose(b2["service"].time_scale.numpy(),
                               c * b1["service"].time_scale.numpy(), rtol=1e-9)


def test_device_permutation_permutes_device_rows(semantic_scenario):
    sc = semantic_scenario
    perm = [2, 0, 3, 1]
    shuffled = sc.replace(devices=tuple(sc.devices[i] for i in perm))
    g1, g2 = build_graph(sc), build_graph(shuffled)
    assert torch.equal(g1["service"].x, g2["service"].x)
    assert torch.equal(g1["fragment"].x, g2["fragment"].x)
    assert torch.equal(g1["device"].x[perm], g2["device"].x)


def test_errors():
    with pytest.raises(ValueError, match="at least one Scenario"):
        build_batch([])
    with pytest.raises(ValueError, match=r"scenarios\[0\] must be a Scenario"):
        build_batch(["not a scenario"])


def _builder_loads(scenarios):
    a = scenarios_to_arrays(scenarios)
    s = compute_structure(a)
    f = compute_features(a, s)
    return s, f.x[DEVICE][:, FEATURES[DEVICE].index("load")]


@pytest.mark.parametrize("regime", ["placer", "edge", "chainnet_like"])
def test_builder_offered_load_is_the_walkers(regime):
    scenarios = sample_scenarios(regime, 25, seed=8)
    _, load = _builder_loads(scenarios)
    expected = [
        rho for sc in scenarios for rho in offered_load(sc.devices, placed_services(sc)).values()
    ]
    assert np.array_equal(load, expected)  # bit for bit (sampled devices have one server)


def test_builder_offered_load_multi_server(semantic_scenario):
    # the builder divides by the servers after the sum, the walker before: last bits may differ
    _, load = _builder_loads([semantic_scenario])
    rho = offered_load(semantic_scenario.devices, placed_services(semantic_scenario))
    np.testing.assert_allclose(load, list(rho.values()), rtol=1e-14, atol=0.0)


def test_builder_transfers_are_the_walkers(edge_scenarios, semantic_scenario):
    scenarios = [*edge_scenarios, semantic_scenario]
    s, _ = _builder_loads(scenarios)
    sent = []  # (link index, bytes) of every transfer, fragment order
    base = 0
    for sc in scenarios:
        for sw in walk(sc):
            into = {}
            for hops in sw.branches:
                for k, hop in enumerate(hops):
                    if hop.link is not None:
                        into[hops[k + 1].fragment] = (base + sc.links.index(hop.link), hop.nbytes)
            sent += [into.get(i, (-1, None)) for i in range(len(sw.service.fragments))]
        base += len(sc.links)
    assert [link for link, _ in sent] == s.fragment_in_link.tolist()
    moved = s.fragment_in_link >= 0
    assert [b for _, b in sent if b is not None] == s.fragment_in_bytes[moved].tolist()
