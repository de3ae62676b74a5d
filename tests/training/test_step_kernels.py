"""The training step's hand-written pieces agree with the PyTorch/PyG code they replace.

Covers the path GRU's recurrence (:func:`chainnet.nn.path_gru.gru_recurrence`, against
``torch.nn.GRU``), the direct aggregation of :class:`chainnet.nn.DeviceAttention`, the masked
loss mean and the fused AdamW of :class:`training.PerfPredictorModule` on the CPU.
"""

import pytest
import torch
from torch_geometric.utils import softmax

from chainnet.nn import DeviceAttention, PathGRU
from chainnet.nn.path_gru import gru_recurrence, pack_paths
from training.module import _fused_on_cpu, _log_error, _masked_error, _multi_tensor_on_cpu


def _paths(lengths: list[int], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``path_batch`` and ``path_pos`` of paths with the given lengths, fragments shuffled."""
    batch = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
    pos = torch.cat([torch.arange(n) for n in lengths])
    perm = torch.randperm(batch.numel(), generator=torch.Generator().manual_seed(seed))
    return batch[perm], pos[perm]


@pytest.mark.parametrize("lengths", [[3, 1, 4, 1, 5], [2], [1, 1, 1], [6, 6, 2]])
def test_packed_recurrence_matches_torch_gru_values_and_gradients(lengths):
    torch.manual_seed(0)
    path_batch, path_pos = _paths(lengths, seed=len(lengths))
    layer = PathGRU(5, 4).double()
    x = torch.randn(path_batch.numel(), 5, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(len(lengths), 4, dtype=torch.float64, requires_grad=True)
    w_out, w_last = torch.randn(x.size(0), 4, dtype=torch.float64), torch.randn_like(h0)
    results = []
    for packed in (True, False):  # False: the padded route through torch.nn.GRU
        layer.packed = packed
        out, last = layer(x, path_batch, path_pos, h0)
        loss = (out * w_out).sum() + (last * w_last).sum()
        grads = torch.autograd.grad(loss, [x, h0, *layer.parameters()])
        results.append((out, last, grads))
    (o1, l1, g1), (o2, l2, g2) = results
    torch.testing.assert_close(o1, o2)
    torch.testing.assert_close(l1, l2)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)


def test_recurrence_with_one_output_used_and_no_weight_gradient():
    torch.manual_seed(1)
    gru = torch.nn.GRU(3, 2).double()
    plan = pack_paths(*_paths([2, 3], seed=0), 2)
    assert plan is not None
    gi = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    w_hh, b_hh = gru.weight_hh_l0.detach(), gru.bias_hh_l0.detach()
    sizes = plan.batch_sizes.tolist()
    _, last = gru_recurrence(gi, h0, w_hh, b_hh, sizes)
    assert torch.autograd.gradcheck(
        lambda g, h: gru_recurrence(g, h, w_hh, b_hh, sizes)[1], (gi, h0))
    last.sum().backward()
    assert gi.grad is not None and h0.grad is not None


def test_device_attention_matches_a_per_device_softmax():
    torch.manual_seed(2)
    att = DeviceAttention(4, 3, 5, heads=2).double()
    x_f = torch.randn(7, 4, dtype=torch.float64)
    x_d = torch.randn(4, 3, dtype=torch.float64)  # device 3 hosts nothing
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5, 6], [0, 0, 1, 2, 2, 2, 1]])
    out = att(x_f, x_d, edge_index)
    src, dst = edge_index
    x_s = att.W_s(x_f).view(-1, 2, 5)
    x_t = att.W_d(x_d).view(-1, 2, 5)
    e = torch.nn.functional.leaky_relu(x_s[src] + x_t[dst], att.negative_slope)
    alpha = softmax((e * att.a).sum(-1), dst, num_nodes=4)
    expected = torch.zeros(4, 2, 5, dtype=torch.float64)
    for k in range(src.numel()):
        expected[dst[k]] += alpha[k].unsqueeze(-1) * x_s[src[k]]
    torch.testing.assert_close(out, expected.mean(dim=1))
    assert torch.equal(out[3], torch.zeros(5, dtype=torch.float64))


def test_masked_error_is_the_mean_over_finite_targets():
    pred = torch.rand(6, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0.5, float("nan"), 0.2, 0.9, float("nan"), 0.1], dtype=torch.float64)
    loss = _masked_error(pred, target, _log_error)
    ok = torch.isfinite(target)
    torch.testing.assert_close(loss, _log_error(pred[ok], target[ok]).mean())
    loss.backward()
    assert pred.grad is not None and bool((pred.grad[~ok] == 0).all())
    pred.grad = None
    none = _masked_error(pred, torch.full((6,), float("nan"), dtype=torch.float64), _log_error)
    none.backward()
    assert float(none.detach()) == 0.0 and bool((pred.grad == 0).all())


def test_adamw_on_the_cpu_runs_fused_and_keeps_explicit_choices():
    net = torch.nn.Linear(3, 2)
    opt = _multi_tensor_on_cpu(_fused_on_cpu(torch.optim.AdamW(net.parameters())))
    assert all(g["fused"] is True and g["foreach"] is None for g in opt.param_groups)
    kept = _fused_on_cpu(torch.optim.AdamW(net.parameters(), foreach=False))
    assert all(not g["fused"] and g["foreach"] is False for g in kept.param_groups)
    sgd = _fused_on_cpu(torch.optim.SGD(net.parameters(), lr=0.1))
    assert all(not g.get("fused") for g in sgd.param_groups)


def test_fused_adamw_steps_match_the_multi_tensor_ones():
    def steps(fused: bool) -> list[torch.Tensor]:
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2))
        opt = torch.optim.AdamW(net.parameters(), lr=0.01, weight_decay=1e-3)
        opt = _multi_tensor_on_cpu(_fused_on_cpu(opt) if fused else opt)
        gen = torch.Generator().manual_seed(1)
        for _ in range(10):
            for p in net.parameters():
                p.grad = torch.randn(p.shape, generator=gen)
            opt.step()
        return [p.detach() for p in net.parameters()]

    for a, b in zip(steps(True), steps(False)):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
