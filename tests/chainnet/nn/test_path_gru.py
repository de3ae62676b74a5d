import torch

from chainnet.nn import PathGRU


def test_matches_a_step_by_step_gru_cell():
    torch.manual_seed(0)
    layer = PathGRU(4, 3)
    # paths: p0 = [f2, f0, f4], p1 = [f1], p2 = [f3, f5]
    path_batch = torch.tensor([0, 1, 0, 2, 0, 2])
    path_pos = torch.tensor([1, 0, 0, 0, 2, 1])
    x = torch.randn(6, 4)
    h0 = torch.randn(3, 3)
    out, last = layer(x, path_batch, path_pos, h0)
    assert out.shape == (6, 3) and last.shape == (3, 3)
    cell = torch.nn.GRUCell(4, 3)
    cell.weight_ih.data = layer.gru.weight_ih_l0.data
    cell.weight_hh.data = layer.gru.weight_hh_l0.data
    cell.bias_ih.data = layer.gru.bias_ih_l0.data
    cell.bias_hh.data = layer.gru.bias_hh_l0.data
    for p, order in enumerate([[2, 0, 4], [1], [3, 5]]):
        h = h0[p]
        for f in order:
            h = cell(x[f : f + 1], h.unsqueeze(0))[0]
            torch.testing.assert_close(out[f], h)
        torch.testing.assert_close(last[p], h)
    assert repr(layer) == "PathGRU(4, 3)"
