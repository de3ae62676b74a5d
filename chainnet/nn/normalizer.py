r"""Feature normalisation fitted on training data and stored as buffers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

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

    The normaliser also records the range of every feature seen in training
    (``{node_type}_lo``, ``{node_type}_hi``, in the :math:`\operatorname{asinh}` scale), so
    :meth:`out_of_range` can tell which nodes lie outside what the model was trained on.
    :meth:`fit` sets it; :meth:`fit_range` sets it alone (fine-tuning keeps the mean and
    standard deviation the weights were trained with). Until a range is fitted it is
    :math:`(-\infty, \infty)`: nothing is out of range (checkpoints written before ranges
    existed load that way).

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
            self.register_buffer(f"{nt}_lo", torch.full((len(names),), -math.inf))
            self.register_buffer(f"{nt}_hi", torch.full((len(names),), math.inf))
        self.register_buffer("fitted", torch.tensor(False))

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str,
                              *args: Any, **kwargs: Any) -> None:
        # Checkpoints written before feature ranges existed: an unknown (infinite) range.
        for nt in self.features:
            for name in (f"{nt}_lo", f"{nt}_hi"):
                state_dict.setdefault(prefix + name, self._buf(name).clone())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _buf(self, name: str) -> Tensor:
        buf = getattr(self, name)
        assert isinstance(buf, Tensor)
        return buf

    def reset_parameters(self) -> None:
        """Forget the fitted statistics."""
        for nt in self.features:
            self._buf(f"{nt}_mean").zero_()
            self._buf(f"{nt}_std").fill_(1.0)
            self._buf(f"{nt}_lo").fill_(-math.inf)
            self._buf(f"{nt}_hi").fill_(math.inf)
        self._buf("fitted").fill_(False)

    def _scan(self, data: HeteroData | Iterable[HeteroData]) -> tuple[
        dict[str, int], TensorDict, TensorDict, TensorDict, TensorDict
    ]:
        """One pass over the graphs: per node type the count, sum, sum of squares, min, max.

        All in the asinh scale, float64, on the CPU.
        """
        graphs = [data] if isinstance(data, HeteroData) else data
        count = dict.fromkeys(self.features, 0)
        sum1 = {nt: torch.zeros(len(n), dtype=torch.float64) for nt, n in self.features.items()}
        sum2 = {nt: torch.zeros(len(n), dtype=torch.float64) for nt, n in self.features.items()}
        lo = {nt: torch.full((len(n),), math.inf, dtype=torch.float64)
              for nt, n in self.features.items()}
        hi = {nt: -lo[nt] for nt in self.features}
        for g in graphs:
            for nt in self.features:
                if nt not in g.node_types or g[nt].num_nodes == 0:
                    continue
                z = torch.asinh(g[nt].x.to(torch.float64)).cpu()
                count[nt] += z.shape[0]
                sum1[nt] += z.sum(0)
                sum2[nt] += (z * z).sum(0)
                lo[nt] = torch.minimum(lo[nt], z.min(0).values)
                hi[nt] = torch.maximum(hi[nt], z.max(0).values)
        return count, sum1, sum2, lo, hi

    @torch.no_grad()
    def fit(self, data: HeteroData | Iterable[HeteroData]) -> FeatureNormalizer:
        """Fit mean, standard deviation and range on one graph/batch or an iterable of them.

        Args:
            data: A (batched) heterograph, or an iterable of them (e.g. a ``DataLoader``).

        Returns:
            ``self``.

        Raises:
            ValueError: If no node of some type carries features.
        """
        count, sum1, sum2, lo, hi = self._scan(data)
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
            self._buf(f"{nt}_lo").copy_(lo[nt].to(mean_buf.dtype))
            self._buf(f"{nt}_hi").copy_(hi[nt].to(mean_buf.dtype))
        self._buf("fitted").fill_(True)
        return self

    @torch.no_grad()
    def fit_range(self, data: HeteroData | Iterable[HeteroData]) -> FeatureNormalizer:
        """Set the feature ranges from training graphs, keeping the mean and std.

        Use it when fine-tuning: the weights were trained with the current mean and standard
        deviation, but the range must cover the data the model is now trained on.

        Args:
            data: A (batched) heterograph, or an iterable of them (e.g. a ``DataLoader``).

        Returns:
            ``self``.
        """
        count, _, _, lo, hi = self._scan(data)
        for nt in self.features:
            if count[nt] > 0:
                self._buf(f"{nt}_lo").copy_(lo[nt].to(self._buf(f"{nt}_lo").dtype))
                self._buf(f"{nt}_hi").copy_(hi[nt].to(self._buf(f"{nt}_hi").dtype))
        return self

    @torch.no_grad()
    def out_of_range(self, x_dict: Mapping[NodeType, Tensor], margin: float = 0.5
                     ) -> TensorDict:
        r"""Which nodes have a feature outside the training range, widened by a margin.

        A node of type ``t`` is out of range when some feature satisfies
        :math:`\operatorname{asinh}(x) < lo - m\,\sigma` or
        :math:`\operatorname{asinh}(x) > hi + m\,\sigma`.

        Args:
            x_dict: Raw features per node type, ``[N_type, F_type]``.
            margin: Widening :math:`m` of the range, in fitted standard deviations
                (default: ``0.5``).

        Returns:
            Node type -> bool ``[N_type]``.
        """
        out: TensorDict = {}
        for nt, x in x_dict.items():
            if nt not in self.features:
                continue
            z = torch.asinh(x)
            std = self._buf(f"{nt}_std")
            below = z < self._buf(f"{nt}_lo") - margin * std
            above = z > self._buf(f"{nt}_hi") + margin * std
            out[nt] = (below | above).any(dim=-1)
        return out

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
                "lo": self._buf(f"{nt}_lo").tolist(),
                "hi": self._buf(f"{nt}_hi").tolist(),
            }
            for nt in self.features
        }

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(fitted={bool(self._buf('fitted'))})"
