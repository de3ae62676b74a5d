import torch
from torch_geometric.data import HeteroData

from chainnet.nn import FeatureNormalizer


def _graph(n: int, seed: int) -> HeteroData:
    g = HeteroData()
    gen = torch.Generator().manual_seed(seed)
    g["a"].x = torch.rand(n, 3, generator=gen) * torch.tensor([1.0, 100.0, 0.0])
    g["b"].x = torch.zeros(0, 2)
    return g


def test_fit_standardises_and_is_stored_in_buffers():
    norm = FeatureNormalizer({"a": ("u", "v", "const"), "b": ("p", "q")})
    assert not bool(norm.fitted)
    graphs = [_graph(50, 0), _graph(70, 1)]
    norm.fit(graphs)
    z = norm({"a": torch.cat([g["a"].x for g in graphs])})["a"]
    torch.testing.assert_close(z[:, :2].mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(z[:, :2].std(0, unbiased=False), torch.ones(2), atol=1e-4,
                               rtol=0)
    assert torch.equal(norm.a_std[2], torch.tensor(1.0))  # constant feature
    assert torch.equal(norm.b_std, torch.ones(2))  # absent node type: identity
    state = norm.state_dict()
    assert {"a_mean", "a_std", "b_mean", "b_std", "fitted"} <= set(state)
    again = FeatureNormalizer({"a": ("u", "v", "const"), "b": ("p", "q")})
    again.load_state_dict(state)
    assert again.stats() == norm.stats() and bool(again.fitted)
    again.reset_parameters()
    assert not bool(again.fitted)


def test_unfitted_is_asinh():
    norm = FeatureNormalizer({"a": ("u",)})
    x = torch.tensor([[0.0], [3.0]])
    torch.testing.assert_close(norm({"a": x})["a"], torch.asinh(x))
    assert repr(norm) == "FeatureNormalizer(fitted=False)"
