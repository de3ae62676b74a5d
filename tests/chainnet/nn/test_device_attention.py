import torch

from chainnet.nn import DeviceAttention


def test_shapes_softmax_and_isolated_devices():
    torch.manual_seed(0)
    layer = DeviceAttention(5, 4, 6, heads=2)
    x_f = torch.randn(4, 5)
    x_d = torch.randn(3, 4)
    # device 2 hosts nothing
    edge_index = torch.tensor([[0, 1, 2, 3], [0, 0, 1, 1]])
    out = layer(x_f, x_d, edge_index)
    assert out.shape == (3, 6)
    assert torch.equal(out[2], torch.zeros(6))
    # identical fragments: attention weights sum to one, so the message is their projection
    same = x_f[:1].repeat(4, 1)
    out = layer(same, x_d, edge_index)
    proj = layer.W_s(same[:1]).view(2, 6).mean(0)
    torch.testing.assert_close(out[0], proj)
    torch.testing.assert_close(out[1], proj)
    assert "heads=2" in repr(layer)


def test_reset_parameters_changes_weights():
    layer = DeviceAttention(2, 2, 2)
    before = layer.a.detach().clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.a)
