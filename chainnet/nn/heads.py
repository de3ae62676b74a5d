r"""Physics-informed output heads shared by ChainNet and its baselines."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chainnet.typing import TensorDict

__all__ = ["PerformanceHeads"]

_P_EPS = 1e-4


def _mlp(in_channels: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_channels, hidden), nn.ReLU(), nn.Linear(hidden, out))


class PerformanceHeads(nn.Module):
    r"""Bounded heads that correct analytic priors (RouteNet-Fermi style).

    For a prior :math:`\pi \in [0, 1]` (from :data:`chainnet.schema.PRIORS`) and a learned
    correction :math:`\delta`:

    .. math::
        \hat y = \sigma\big(\operatorname{logit}(\operatorname{clip}(\pi, \epsilon,
        1-\epsilon)) + \delta\big)

    for ``tput_ratio`` and ``respt_ratio`` (services) and ``utilization`` and ``drop_prob``
    (devices), so every prediction is in (0, 1) and a zero correction returns the prior. The
    tail ratio (p95 over mean latency) corrects its prior :math:`\pi_{95} \ge 1` in the same
    way on the softplus scale, so it stays :math:`\ge 1`:

    .. math::
        \hat y_{p95} = 1 + \operatorname{softplus}\big(\operatorname{softplus}^{-1}
        (\max(\pi_{95} - 1, \epsilon)) + \delta_{p95}\big)

    With ``use_priors=False`` the prior logits are replaced by 0 (plain sigmoid heads) and the
    tail ratio by :math:`1 + \operatorname{softplus}(\delta_{p95} + 1)`.

    Args:
        service_channels: Size of the service readout state.
        device_channels: Size of the device state.
        hidden_channels: Hidden size of the head MLPs.
        use_priors: Correct the analytic priors (default: ``True``).

    Shapes:
        - **input:** ``h_service`` ``[S, service_channels]``, ``h_device``
          ``[D, device_channels]``, ``service_prior`` ``[S, 3]`` (tput, respt, p95),
          ``device_prior`` ``[D, 2]`` (utilisation, drop)
        - **output:** ``tput_ratio``, ``respt_ratio``, ``p95_ratio`` ``[S]``;
          ``utilization``, ``drop_prob`` ``[D]``
    """

    def __init__(
        self,
        service_channels: int,
        device_channels: int,
        hidden_channels: int,
        use_priors: bool = True,
    ) -> None:
        super().__init__()
        self.service_channels = service_channels
        self.device_channels = device_channels
        self.hidden_channels = hidden_channels
        self.use_priors = use_priors
        self.service_mlp = _mlp(service_channels, hidden_channels, 3)
        self.device_mlp = _mlp(device_channels, hidden_channels, 2)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise the MLPs; the last layers start at zero so outputs start at the prior."""
        for mlp in (self.service_mlp, self.device_mlp):
            for layer in mlp:
                if isinstance(layer, nn.Linear):
                    layer.reset_parameters()
            last = mlp[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def _logit(self, prior: Tensor) -> Tensor:
        if not self.use_priors:
            return torch.zeros_like(prior)
        return torch.logit(prior.clamp(_P_EPS, 1.0 - _P_EPS))

    def forward(
        self, h_service: Tensor, h_device: Tensor, service_prior: Tensor, device_prior: Tensor
    ) -> TensorDict:
        """Return the dict of bounded predictions."""
        ds = self.service_mlp(h_service)
        dd = self.device_mlp(h_device)
        s_logit = self._logit(service_prior[:, :2])
        d_logit = self._logit(device_prior)
        if self.use_priors:
            excess = (service_prior[:, 2] - 1.0).clamp_min(_P_EPS)
            p95_base = excess + torch.log(-torch.expm1(-excess))  # softplus^-1
        else:
            p95_base = torch.ones_like(ds[:, 2])
        return {
            "tput_ratio": torch.sigmoid(s_logit[:, 0] + ds[:, 0]),
            "respt_ratio": torch.sigmoid(s_logit[:, 1] + ds[:, 1]),
            "p95_ratio": 1.0 + F.softplus(p95_base + ds[:, 2]),
            "utilization": torch.sigmoid(d_logit[:, 0] + dd[:, 0]),
            "drop_prob": torch.sigmoid(d_logit[:, 1] + dd[:, 1]),
        }

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.service_channels}, {self.device_channels}, "
            f"use_priors={self.use_priors})"
        )
