import torch

from chainnet.nn import PerformanceHeads


def test_zero_correction_returns_the_prior_and_bounds_hold():
    heads = PerformanceHeads(6, 4, 8)
    s_prior = torch.tensor([[0.9, 0.5, 2.5], [0.0, 1.0, 1.0]])
    d_prior = torch.tensor([[0.3, 0.01]])
    out = heads(torch.randn(2, 6), torch.randn(1, 4), s_prior, d_prior)
    torch.testing.assert_close(out["tput_ratio"], torch.tensor([0.9, 1e-4]))
    torch.testing.assert_close(out["respt_ratio"], torch.tensor([0.5, 1 - 1e-4]))
    torch.testing.assert_close(out["drop_prob"], torch.tensor([0.01]))
    torch.testing.assert_close(out["p95_ratio"], torch.tensor([2.5, 1.0001]))
    with torch.no_grad():
        for p in heads.parameters():
            p.normal_(0, 3.0)
    out = heads(torch.randn(2, 6), torch.randn(1, 4), s_prior, d_prior)
    for key in ("tput_ratio", "respt_ratio", "utilization", "drop_prob"):
        assert ((out[key] >= 0) & (out[key] <= 1)).all()
    assert (out["p95_ratio"] >= 1).all()


def test_without_priors_is_a_plain_sigmoid():
    heads = PerformanceHeads(2, 2, 2, use_priors=False)
    out = heads(torch.randn(3, 2), torch.randn(1, 2), torch.rand(3, 3), torch.rand(1, 2))
    torch.testing.assert_close(out["tput_ratio"], torch.full((3,), 0.5))
    assert "use_priors=False" in repr(heads)
