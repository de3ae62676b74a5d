import torch

from chainnet.nn import MeanGRUUpdate


def test_mean_message_and_isolated_nodes():
    torch.manual_seed(0)
    layer = MeanGRUUpdate(3, 2)
    x = torch.randn(3, 3)
    h = torch.randn(2, 2)
    edge_index = torch.tensor([[0, 1], [0, 0]])
    out = layer(x, h, edge_index)
    m0 = layer.W(x[:2]).mean(0, keepdim=True)
    torch.testing.assert_close(out[:1], layer.cell(m0, h[:1]))
    torch.testing.assert_close(out[1:], layer.cell(torch.zeros(1, 2), h[1:]))
    assert repr(layer) == "MeanGRUUpdate(3, 2)"
