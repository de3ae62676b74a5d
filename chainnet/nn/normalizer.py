r"""Feature normalisation fitted on training data and stored as buffers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData

from chainnet.schema import FEATURES
from chainnet.typing import NodeType, TensorDict

__all__ = ["FeatureNormalizer"]


class FeatureNormalizer(nn.Module):
    r"""Z-score of the inverse-hyperbolic-sine of every feature, per node type.

    .. math::
        \hat x = \frac{\operatorname{asinh}(x) - \mu}{\sigma}

    :math:`\operatorname{asinh}` compresses heavy-tailed loads (it is :math:`\approx x` near 0
    and :math:`\approx \ln 2x` for large :math:`x`). :math:`\mu, \sigma` are fitted by
    :meth:`fit` on training graphs and stored as buffers (``{node_type}_mean``,
    ``{node_type}_std``), so they travel with the ``state_dict``; never literals. An unfitted
    normaliser (``fitted`` buffer false) only applies :math:`\operatorname{asinh}`.

    Args:
        features: Feature names per node type (default: :data:`chainnet.schema.FEATURES`).
        min_std: Floor of :math:`\sigma`; a constant feature gets :math:`\sigma = 1`
            (default: ``1e-6``).

    Shapes:
        - **input:** node type -> ``[N_type, F_type]``
        - **output:** node type -> ``[N_type, F_type]``
    """

    def __init__(
        self,
        features: Mapping[NodeType, tuple[str, ...]] | None = None,
        min_std: float = 1e-6,
    ) -> None:
        super().__init__()
        self.features = dict(FEATURES if features is None else features)
        self.min_std = min_std
        for nt, names in self.features.items():
            self.register_buffer(f"{nt}_mean", torch.zeros(len(names)))
            self.register_buffer(f"{nt}_std", torch.ones(len(names)))
        self.register_buffer("fitted", torch.tensor(False))

    def _buf(self, name: str) -> Tensor:
        buf = getattr(self, name)
        assert isinstance(buf, Tensor)
        return buf

    def reset_parameters(self) -> None:
        """Forget the fitted statistics."""
        for nt in self.features:
            self._buf(f"{nt}_mean").zero_()
            self._buf(f"{nt}_std").fill_(1.0)
        self._buf("fitted").fill_(False)

    @torch.no_grad()
    def fit(self, data: HeteroData | Iterable[HeteroData]) -> FeatureNormalizer:
        """Fit mean and standard deviation on one graph/batch or an iterable of them.

        Args:
            data: A (batched) heterograph, or an iterable of them (e.g. a ``DataLoader``).

        Returns:
            ``self``.

        Raises:
            ValueError: If no node of some type carries features.
        """
        graphs = [data] if isinstance(data, HeteroData) else data
        count = dict.fromkeys(self.features, 0)
        sum1 = {nt: torch.zeros(len(n), dtype=torch.float64) for nt, n in self.features.items()}
        sum2 = {nt: torch.zeros(len(n), dtype=torch.float64) for nt, n in self.features.items()}
        for g in graphs:
            for nt in self.features:
                if nt not in g.node_types or g[nt].num_nodes == 0:
                    continue
                z = torch.asinh(g[nt].x.to(torch.float64))
                count[nt] += z.shape[0]
                sum1[nt] += z.sum(0).cpu()
                sum2[nt] += (z * z).sum(0).cpu()
        for nt in self.features:
            n, s1, s2 = count[nt], sum1[nt], sum2[nt]
            mean_buf, std_buf = self._buf(f"{nt}_mean"), self._buf(f"{nt}_std")
            if n == 0:
                # a node type absent from the training data (e.g. links) stays un-centred
                mean_buf.zero_()
                std_buf.fill_(1.0)
                continue
            mean = s1 / n
            std = (s2 / n - mean * mean).clamp_min(0.0).sqrt()
            std = torch.where(std < self.min_std, torch.ones_like(std), std)
            mean_buf.copy_(mean.to(mean_buf.dtype))
            std_buf.copy_(std.to(std_buf.dtype))
        self._buf("fitted").fill_(True)
        return self

    def forward(self, x_dict: Mapping[NodeType, Tensor]) -> TensorDict:
        """Normalise the features of every node type present in ``x_dict``."""
        return {
            nt: (torch.asinh(x) - self._buf(f"{nt}_mean")) / self._buf(f"{nt}_std")
            for nt, x in x_dict.items()
            if nt in self.features
        }

    def stats(self) -> dict[str, dict[str, list[float]]]:
        """Return the fitted statistics as plain lists (for checkpoints and model cards)."""
        return {
            nt: {
                "mean": self._buf(f"{nt}_mean").tolist(),
                "std": self._buf(f"{nt}_std").tolist(),
            }
            for nt in self.features
        }

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(fitted={bool(self._buf('fitted'))})"
