import pytest

from chainnet.schema import (
    EDGE_TYPES,
    FEATURES,
    NODE_TYPES,
    PRIORS,
    SCHEMA_VERSION,
    TARGETS,
    metadata,
    num_features,
)


def test_node_and_edge_types_are_declared_once():
    assert NODE_TYPES == ("service", "fragment", "device", "link")
    assert len(set(EDGE_TYPES)) == len(EDGE_TYPES)
    for src, rel, dst in EDGE_TYPES:
        assert src in NODE_TYPES and dst in NODE_TYPES and rel
    assert ("fragment", "next", "fragment") in EDGE_TYPES
    assert ("device", "hosts", "fragment") in EDGE_TYPES
    assert ("link", "carries", "fragment") in EDGE_TYPES


def test_every_edge_has_its_reverse_except_next():
    rel = {(s, d) for s, _, d in EDGE_TYPES}
    for s, r, d in EDGE_TYPES:
        if r != "next":
            assert (d, s) in rel


def test_feature_names_unique_per_type():
    assert set(FEATURES) == set(NODE_TYPES)
    for names in FEATURES.values():
        assert len(set(names)) == len(names) > 0


def test_priors_and_targets():
    assert PRIORS["service"] == ("tput_ratio", "respt_ratio", "p95_ratio")
    assert TARGETS["service"] == ("tput_ratio", "respt_ratio", "p95_ratio")
    assert TARGETS["device"] == ("utilization", "drop_prob")
    assert isinstance(SCHEMA_VERSION, int)


def test_num_features_and_metadata():
    assert num_features("fragment") == len(FEATURES["fragment"])
    with pytest.raises(ValueError, match="node_type must be one of"):
        num_features("queue")
    nodes, edges = metadata()
    assert nodes == list(NODE_TYPES) and edges == list(EDGE_TYPES)
