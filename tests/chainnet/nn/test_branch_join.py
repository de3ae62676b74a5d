import torch

from chainnet.nn import BranchJoin


def test_sum_and_max_over_branches():
    layer = BranchJoin(2, 3)
    h = torch.tensor([[1.0, -1.0], [3.0, 0.0], [2.0, 5.0]])
    path_service = torch.tensor([0, 0, 1])
    out = layer(h, path_service, 3)
    assert out.shape == (3, 3)
    expected0 = layer.W(torch.tensor([4.0, -1.0, 3.0, 0.0]))
    torch.testing.assert_close(out[0], expected0)
    torch.testing.assert_close(out[2], layer.W(torch.zeros(4)))  # service without paths
