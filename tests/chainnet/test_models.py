import pytest
import torch
from torch import nn

from chainnet import MODEL_CLASSES, ChainNet, GATBaseline, GCNBaseline, MLPBaseline, build_batch


def _randomise_heads(model: nn.Module) -> nn.Module:
    # heads start at zero (outputs = priors); randomise them so that message passing matters
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.readout.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return model


# the Ensemble wraps trained members: tested in test_surrogate.py
SINGLE_MODELS = sorted(name for name in MODEL_CLASSES if name != "Ensemble")


@pytest.fixture
def batch(edge_scenarios, chainnet_scenarios, semantic_scenario):
    return build_batch([*edge_scenarios[:5], semantic_scenario, *chainnet_scenarios[:3]])


@pytest.mark.parametrize("name", SINGLE_MODELS)
def test_output_shapes_and_ranges(name, batch):
    torch.manual_seed(0)
    model = _randomise_heads(MODEL_CLASSES[name]())
    model.normalizer.fit(batch)
    out = model(batch)
    S, D = batch["service"].num_nodes, batch["device"].num_nodes
    assert set(out) == {"tput_ratio", "respt_ratio", "p95_ratio", "utilization", "drop_prob"}
    for key in ("tput_ratio", "respt_ratio", "p95_ratio"):
        assert out[key].shape == (S,)
    for key in ("utilization", "drop_prob"):
        assert out[key].shape == (D,)
    for key in ("tput_ratio", "respt_ratio", "utilization", "drop_prob"):
        assert ((out[key] >= 0) & (out[key] <= 1)).all()
    assert (out["p95_ratio"] >= 1).all()
    loss = sum(v.mean() for v in out.values())
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", SINGLE_MODELS)
def test_fresh_model_predicts_the_priors(name, batch):
    model = MODEL_CLASSES[name]()
    out = model(batch)
    prior = batch["service"].prior.clamp(1e-4, 1 - 1e-4)
    torch.testing.assert_close(out["tput_ratio"], prior[:, 0])
    torch.testing.assert_close(out["respt_ratio"], prior[:, 1])
    p95 = batch["service"].prior[:, 2].clamp_min(1 + 1e-4)
    torch.testing.assert_close(out["p95_ratio"], p95)
    dprior = batch["device"].prior.clamp(1e-4, 1 - 1e-4)
    torch.testing.assert_close(out["drop_prob"], dprior[:, 1])


@pytest.mark.parametrize("name", SINGLE_MODELS)
def test_device_permutation_leaves_predictions_unchanged(name, semantic_scenario, edge_scenarios):
    torch.manual_seed(1)
    model = _randomise_heads(MODEL_CLASSES[name]()).eval()
    scenarios = [semantic_scenario, edge_scenarios[1]]
    shuffled = []
    for sc in scenarios:
        perm = torch.randperm(len(sc.devices), generator=torch.Generator().manual_seed(3))
        shuffled.append(sc.replace(devices=tuple(sc.devices[int(i)] for i in perm)))
    b1, b2 = build_batch(scenarios), build_batch(shuffled)
    model.normalizer.fit(b1)
    with torch.no_grad():
        o1, o2 = model(b1), model(b2)
    for key in ("tput_ratio", "respt_ratio", "p95_ratio"):
        torch.testing.assert_close(o1[key], o2[key], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(o1["utilization"].sort().values, o2["utilization"].sort().values,
                               rtol=1e-5, atol=1e-6)


def test_chainnet_uses_links_and_branches(semantic_scenario):
    torch.manual_seed(0)
    model = _randomise_heads(ChainNet(hidden_channels=8, num_iterations=2))
    no_links = semantic_scenario.replace(links=())
    with torch.no_grad():
        a = model(build_batch([semantic_scenario]))
        b = model(build_batch([no_links]))
    assert not torch.allclose(a["p95_ratio"], b["p95_ratio"])


def test_graphs_in_a_batch_do_not_interact(edge_scenarios, semantic_scenario):
    torch.manual_seed(0)
    model = _randomise_heads(ChainNet()).eval()
    with torch.no_grad():
        alone = model(build_batch([semantic_scenario]))
        mixed = model(build_batch([edge_scenarios[2], semantic_scenario, edge_scenarios[3]]))
    n0 = len(edge_scenarios[2].services)
    torch.testing.assert_close(mixed["tput_ratio"][n0:n0 + 2], alone["tput_ratio"])
    torch.testing.assert_close(mixed["p95_ratio"][n0:n0 + 2], alone["p95_ratio"])


def test_reset_parameters_keeps_normalizer_and_zeroes_heads(batch):
    model = _randomise_heads(ChainNet())
    model.normalizer.fit(batch)
    mean = model.normalizer.device_mean.clone()
    model.reset_parameters()
    assert torch.equal(model.normalizer.device_mean, mean)
    assert all((p == 0).all() for p in model.readout.service_mlp[-1].parameters())


def test_init_kwargs_round_trip():
    for cls in (ChainNet, GCNBaseline, GATBaseline, MLPBaseline):
        model = cls(hidden_channels=16)
        again = cls(**model.init_kwargs)
        assert again.init_kwargs == model.init_kwargs
    assert "num_iterations=3" in repr(ChainNet())


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_iterations must be >= 1"):
        ChainNet(num_iterations=0)
    with pytest.raises(ValueError, match="hidden_channels must be >= 1"):
        ChainNet(hidden_channels=0)
    with pytest.raises(ValueError, match="multiple of heads"):
        GATBaseline(hidden_channels=30, heads=4)
    with pytest.raises(ValueError, match="num_layers must be >= 1"):
        GCNBaseline(num_layers=0)
