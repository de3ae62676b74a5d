r"""ChainNet and its GCN, GAT and MLP baselines: same input (a ChainNet heterograph), same output.

Every model owns a :class:`~chainnet.nn.FeatureNormalizer` (fit it on training graphs with
``model.normalizer.fit(loader)``) and ends in :class:`~chainnet.nn.PerformanceHeads`, and its
``forward(data)`` returns the dict

- ``tput_ratio`` ``[S]`` in (0, 1), ``respt_ratio`` ``[S]`` in (0, 1), ``p95_ratio`` ``[S]``
  (p95 latency / mean latency, ``>= 1``),
- ``utilization`` ``[D]`` and ``drop_prob`` ``[D]`` (auxiliary, per device),

indexed like ``data['service']`` and ``data['device']``. Models are pure: no device choice,
no file I/O, no loop over graphs in ``forward``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData
from torch_geometric.nn import GATConv, GCNConv
from torch_geometric.utils import scatter

from chainnet.nn import (
    BranchJoin,
    DeviceAttention,
    FeatureNormalizer,
    MeanGRUUpdate,
    PathGRU,
    PerformanceHeads,
)
from chainnet.nn.path_gru import pack_paths
from chainnet.schema import (
    DEVICE,
    EDGE_TYPES,
    FEATURES,
    FRAGMENT,
    FRAGMENT_PART_OF_SERVICE,
    FRAGMENT_RUNS_ON_DEVICE,
    FRAGMENT_SENDS_OVER_LINK,
    LINK,
    LINK_CARRIES_FRAGMENT,
    NODE_TYPES,
    SERVICE,
)
from chainnet.typing import TensorDict

__all__ = ["ChainNet", "GCNBaseline", "GATBaseline", "MLPBaseline", "Ensemble", "MODEL_CLASSES"]


def _encoder(in_channels: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_channels, hidden), nn.ReLU(), nn.Linear(hidden, hidden))


def _reset(module: nn.Module) -> None:
    # a layer with its own reset_parameters owns its children's init (e.g. zeroed last layers)
    for child in module.children():
        if isinstance(child, FeatureNormalizer):
            continue
        reset = getattr(child, "reset_parameters", None)
        if callable(reset):
            reset()
        else:
            _reset(child)


def _owner(data: HeteroData, edge_type: tuple[str, str, str], num_src: int) -> Tensor:
    """Destination of the single outgoing ``edge_type`` edge of every source node."""
    ei = data[edge_type].edge_index
    out = torch.zeros(num_src, dtype=torch.long, device=ei.device)
    return out.index_copy(0, ei[0], ei[1])


class _Base(nn.Module):
    """Common plumbing: encoders, normaliser, heads and ``init_kwargs`` for checkpoints."""

    def __init__(self, hidden_channels: int, use_priors: bool) -> None:
        super().__init__()
        if hidden_channels < 1:
            raise ValueError(f"hidden_channels must be >= 1, got {hidden_channels}")
        self.hidden_channels = hidden_channels
        self.use_priors = use_priors
        self.normalizer = FeatureNormalizer()
        self.encoders = nn.ModuleDict(
            {nt: _encoder(len(FEATURES[nt]), hidden_channels) for nt in NODE_TYPES}
        )

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        raise NotImplementedError

    def reset_parameters(self) -> None:
        """Re-initialise every learnable layer (the fitted normaliser is kept)."""
        _reset(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.init_kwargs.items())
        return f"{self.__class__.__name__}({args})"

    def _encode(self, data: HeteroData) -> TensorDict:
        x = self.normalizer({nt: data[nt].x for nt in NODE_TYPES})
        return {nt: self.encoders[nt](x[nt]) for nt in NODE_TYPES}


class ChainNet(_Base):
    r"""The ChainNet GNN: path GRUs, fragment updates and device attention, iterated.

    With states :math:`\mathbf h_c` (service), :math:`\mathbf h_f` (fragment),
    :math:`\mathbf h_d` (device), :math:`\mathbf h_\ell` (link) initialised by per-type MLP
    encoders of the normalised features, each of the :math:`T` iterations does:

    .. math::
        \mathbf o_f, \mathbf h_p &= \mathrm{PathGRU}\big([\mathbf h_f \| \mathbf h_{d(f)}],\,
            \mathbf h^{0}_p = \mathbf h_{c(p)}\big) \\
        \mathbf h_f &\leftarrow \mathrm{GRUCell}\big([\mathbf o_f \| \mathbf h_{d(f)} +
            \mathbf W_\ell \bar{\mathbf h}_{\ell \to f}],\, \mathbf h_f\big) \\
        \mathbf h_d &\leftarrow \mathrm{GRUCell}\big(\mathrm{Att}(\{\mathbf h_f: f \to d\},
            \mathbf h_d),\, \mathbf h_d\big) \\
        \mathbf h_\ell &\leftarrow \mathrm{GRUCell}\big(\operatorname{mean}_{f \to \ell}
            \mathbf W \mathbf h_f,\, \mathbf h_\ell\big) \\
        \mathbf h_c &\leftarrow \mathrm{GRUCell}\big(\mathrm{BranchJoin}(\{\mathbf h_p:
            p \in c\}),\, \mathbf h_c\big)

    where a path :math:`p` is a branch of a service (one per layer split, one per branch of a
    semantic split) and :math:`\bar{\mathbf h}_{\ell \to f}` is the state of the link carrying
    the fragment's input (zero when there is none). The readout concatenates
    :math:`\mathbf h_c` with the last :math:`\mathrm{BranchJoin}` output and feeds
    :class:`~chainnet.nn.PerformanceHeads`.

    Args:
        hidden_channels: State size of every node type (default: ``32``).
        num_iterations: Number :math:`T` of message-passing iterations (default: ``3``).
        heads: Attention heads of the device update (default: ``1``).
        use_priors: Heads correct the analytic priors (default: ``True``).

    Shapes:
        - **input:** a (batched) ChainNet ``HeteroData`` (see :mod:`chainnet.schema`)
        - **output:** dict, ``[S]`` service heads and ``[D]`` device heads
    """

    def __init__(
        self,
        hidden_channels: int = 32,
        num_iterations: int = 3,
        heads: int = 1,
        use_priors: bool = True,
    ) -> None:
        super().__init__(hidden_channels, use_priors)
        if num_iterations < 1:
            raise ValueError(f"num_iterations must be >= 1, got {num_iterations}")
        H = hidden_channels
        self.num_iterations = num_iterations
        self.heads = heads
        self.path_gru = PathGRU(2 * H, H)
        self.fragment_cell = nn.GRUCell(2 * H, H)
        self.link_to_fragment = nn.Linear(H, H, bias=False)
        self.device_attention = DeviceAttention(H, H, H, heads=heads)
        self.device_cell = nn.GRUCell(H, H)
        self.link_update = MeanGRUUpdate(H, H)
        self.branch_join = BranchJoin(H, H)
        self.service_cell = nn.GRUCell(H, H)
        self.readout = PerformanceHeads(2 * H, H, H, use_priors=use_priors)
        self.reset_parameters()

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        return {
            "hidden_channels": self.hidden_channels,
            "num_iterations": self.num_iterations,
            "heads": self.heads,
            "use_priors": self.use_priors,
        }

    def forward(self, data: HeteroData) -> TensorDict:
        """Predict the bounded performance ratios of every service and device."""
        h = self._encode(data)
        h_s, h_f, h_d, h_l = h[SERVICE], h[FRAGMENT], h[DEVICE], h[LINK]
        num_s, num_f, num_l = h_s.size(0), h_f.size(0), h_l.size(0)
        path_batch, path_pos = data[FRAGMENT].path_batch, data[FRAGMENT].path_pos
        num_paths = int(path_batch.max()) + 1 if num_f > 0 else 0
        host = _owner(data, FRAGMENT_RUNS_ON_DEVICE, num_f)
        frag_service = _owner(data, FRAGMENT_PART_OF_SERVICE, num_f)
        path_service = scatter(frag_service, path_batch, dim=0, dim_size=num_paths, reduce="max")
        runs_on = data[FRAGMENT_RUNS_ON_DEVICE].edge_index
        sends_over = data[FRAGMENT_SENDS_OVER_LINK].edge_index
        carries = data[LINK_CARRIES_FRAGMENT].edge_index
        joined = h_s.new_zeros(num_s, self.hidden_channels)
        # one packing plan for every iteration: the paths do not change
        packing = pack_paths(path_batch, path_pos, num_paths) if self.path_gru.packed else None
        for _ in range(self.num_iterations):
            h_host = h_d[host]
            o_f, h_p = self.path_gru(
                torch.cat([h_f, h_host], dim=-1), path_batch, path_pos, h_s[path_service],
                packing,
            )
            if carries.size(1) > 0:
                # links only add to the host context, so link-free batches skip the work
                link_msg = scatter(h_l[carries[0]], carries[1], dim=0, dim_size=num_f,
                                   reduce="mean")
                h_host = h_host + self.link_to_fragment(link_msg)
            h_f = self.fragment_cell(torch.cat([o_f, h_host], dim=-1), h_f)
            h_d = self.device_cell(self.device_attention(h_f, h_d, runs_on), h_d)
            if num_l > 0:
                h_l = self.link_update(h_f, h_l, sends_over)
            joined = self.branch_join(h_p, path_service, num_s)
            h_s = self.service_cell(joined, h_s)
        return self.readout(
            torch.cat([h_s, joined], dim=-1), h_d, data[SERVICE].prior, data[DEVICE].prior
        )


class _Homogeneous(_Base):
    """Flatten the heterograph into one node set and run a stack of homogeneous convs."""

    def __init__(self, hidden_channels: int, num_layers: int, use_priors: bool) -> None:
        super().__init__(hidden_channels, use_priors)
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.num_layers = num_layers
        self.readout = PerformanceHeads(hidden_channels, hidden_channels, hidden_channels,
                                        use_priors=use_priors)

    def _conv(self, x: Tensor, edge_index: Tensor, layer: int) -> Tensor:
        raise NotImplementedError

    def forward(self, data: HeteroData) -> TensorDict:
        """Predict the bounded performance ratios of every service and device."""
        h = self._encode(data)
        sizes = [h[nt].size(0) for nt in NODE_TYPES]
        offset = dict(zip(NODE_TYPES, torch.tensor([0, *sizes[:-1]]).cumsum(0).tolist()))
        edges = []
        for src, rel, dst in EDGE_TYPES:
            ei = data[src, rel, dst].edge_index
            shift = torch.tensor([[offset[src]], [offset[dst]]], device=ei.device)
            edges.append(ei + shift)
        edge_index = torch.cat(edges, dim=1)
        x = torch.cat([h[nt] for nt in NODE_TYPES], dim=0)
        for layer in range(self.num_layers):
            x = x + torch.relu(self._conv(x, edge_index, layer))
        out = dict(zip(NODE_TYPES, torch.split(x, sizes)))
        return self.readout(out[SERVICE], out[DEVICE], data[SERVICE].prior, data[DEVICE].prior)


class GCNBaseline(_Homogeneous):
    r"""GCN baseline on the flattened heterograph (node types share one GCN).

    .. math::
        \mathbf X^{(k+1)} = \mathbf X^{(k)} + \operatorname{ReLU}\big(\hat{\mathbf D}^{-1/2}
        \hat{\mathbf A}\hat{\mathbf D}^{-1/2}\mathbf X^{(k)}\mathbf W^{(k)}\big)

    Args:
        hidden_channels: State size (default: ``32``).
        num_layers: Number of GCN layers (default: ``4``).
        use_priors: Heads correct the analytic priors (default: ``True``).

    Shapes:
        - **input:** a (batched) ChainNet ``HeteroData``
        - **output:** dict, ``[S]`` service heads and ``[D]`` device heads
    """

    def __init__(self, hidden_channels: int = 32, num_layers: int = 4,
                 use_priors: bool = True) -> None:
        super().__init__(hidden_channels, num_layers, use_priors)
        self.convs = nn.ModuleList(
            [GCNConv(hidden_channels, hidden_channels) for _ in range(num_layers)]
        )
        self.reset_parameters()

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        return {"hidden_channels": self.hidden_channels, "num_layers": self.num_layers,
                "use_priors": self.use_priors}

    def _conv(self, x: Tensor, edge_index: Tensor, layer: int) -> Tensor:
        return self.convs[layer](x, edge_index)


class GATBaseline(_Homogeneous):
    r"""GAT baseline on the flattened heterograph.

    .. math::
        \mathbf x_i^{(k+1)} = \mathbf x_i^{(k)} + \operatorname{ReLU}\Big(\big\|_{h=1}^{H}
        \sum_{j \in \mathcal N(i) \cup \{i\}} \alpha^h_{ij}\mathbf W^h \mathbf x^{(k)}_j\Big)

    Args:
        hidden_channels: State size, divisible by ``heads`` (default: ``32``).
        num_layers: Number of GAT layers (default: ``4``).
        heads: Attention heads, concatenated (default: ``4``).
        use_priors: Heads correct the analytic priors (default: ``True``).

    Shapes:
        - **input:** a (batched) ChainNet ``HeteroData``
        - **output:** dict, ``[S]`` service heads and ``[D]`` device heads
    """

    def __init__(self, hidden_channels: int = 32, num_layers: int = 4, heads: int = 4,
                 use_priors: bool = True) -> None:
        if heads < 1 or hidden_channels % heads != 0:
            raise ValueError(
                f"hidden_channels must be a multiple of heads, got hidden_channels="
                f"{hidden_channels}, heads={heads}"
            )
        super().__init__(hidden_channels, num_layers, use_priors)
        self.heads = heads
        self.convs = nn.ModuleList(
            [GATConv(hidden_channels, hidden_channels // heads, heads=heads)
             for _ in range(num_layers)]
        )
        self.reset_parameters()

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        return {"hidden_channels": self.hidden_channels, "num_layers": self.num_layers,
                "heads": self.heads, "use_priors": self.use_priors}

    def _conv(self, x: Tensor, edge_index: Tensor, layer: int) -> Tensor:
        return self.convs[layer](x, edge_index)


class MLPBaseline(_Base):
    r"""Per-node MLP baseline without message passing.

    A service sees its own features and the means of its fragments' and their hosts'
    encodings; a device sees only its own features:

    .. math::
        \mathbf h_c = \mathrm{MLP}\big([\mathbf e_c \,\|\, \operatorname{mean}_{f \in c}
        \mathbf e_f \,\|\, \operatorname{mean}_{f \in c} \mathbf e_{d(f)}]\big), \qquad
        \mathbf h_d = \mathrm{MLP}(\mathbf e_d)

    Args:
        hidden_channels: Hidden size (default: ``32``).
        use_priors: Heads correct the analytic priors (default: ``True``).

    Shapes:
        - **input:** a (batched) ChainNet ``HeteroData``
        - **output:** dict, ``[S]`` service heads and ``[D]`` device heads
    """

    def __init__(self, hidden_channels: int = 32, use_priors: bool = True) -> None:
        super().__init__(hidden_channels, use_priors)
        H = hidden_channels
        self.service_mlp = nn.Sequential(nn.Linear(3 * H, H), nn.ReLU(), nn.Linear(H, H))
        self.device_mlp = nn.Sequential(nn.Linear(H, H), nn.ReLU(), nn.Linear(H, H))
        self.readout = PerformanceHeads(H, H, H, use_priors=use_priors)
        self.reset_parameters()

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        return {"hidden_channels": self.hidden_channels, "use_priors": self.use_priors}

    def forward(self, data: HeteroData) -> TensorDict:
        """Predict the bounded performance ratios of every service and device."""
        h = self._encode(data)
        num_s, num_f = h[SERVICE].size(0), h[FRAGMENT].size(0)
        host = _owner(data, FRAGMENT_RUNS_ON_DEVICE, num_f)
        svc = _owner(data, FRAGMENT_PART_OF_SERVICE, num_f)
        frag_mean = scatter(h[FRAGMENT], svc, dim=0, dim_size=num_s, reduce="mean")
        host_mean = scatter(h[DEVICE][host], svc, dim=0, dim_size=num_s, reduce="mean")
        h_s = self.service_mlp(torch.cat([h[SERVICE], frag_mean, host_mean], dim=-1))
        h_d = self.device_mlp(h[DEVICE])
        return self.readout(h_s, h_d, data[SERVICE].prior, data[DEVICE].prior)


#: Model classes by name, as stored in checkpoints.
MODEL_CLASSES: dict[str, type[nn.Module]] = {
    cls.__name__: cls for cls in (ChainNet, GCNBaseline, GATBaseline, MLPBaseline)
}


def _spec(model: nn.Module) -> dict[str, Any]:
    kwargs: Any = getattr(model, "init_kwargs", {})
    return {"model_class": type(model).__name__, "model_kwargs": dict(kwargs)}


class Ensemble(nn.Module):
    r"""Weighted average of independently trained predictors (a deep ensemble).

    Each member keeps its own normaliser and heads; the ensemble returns the weighted mean of
    the members' outputs, head by head:

    .. math:: \hat y = \sum_{m=1}^{M} w_m\,\hat y^{(m)}, \qquad \sum_m w_m = 1

    which stays in each head's range ((0, 1) for the ratios, ``>= 1`` for ``p95_ratio``).
    Members trained from different seeds err differently, so the mean errs less than a typical
    member; the price is ``M`` forward passes. The weights default to ``1 / M`` each.

    A member of weight 0 is a *critic*: it does not move the prediction, only the spread of
    the members' predictions (:class:`chainnet.Surrogate`'s ``uncertainty``) and nothing
    else. A critic from an earlier training stage disagrees with the members where they
    learned most recently, which makes the spread a better error signal than two members of
    one stage alone (see the model card).

    Args:
        members: One ``{"model_class": name, "model_kwargs": {...}}`` per member, with ``name``
            a key of :data:`MODEL_CLASSES` other than ``"Ensemble"`` (at least one member).
            Build from trained models with :meth:`from_models`.
        weights: Non-negative weight of each member in the mean, normalised to sum to 1
            (default: ``None``, equal weights). At least one must be positive.

    Raises:
        ValueError: If ``members`` is empty or names an unknown (or nested ensemble) class,
            or ``weights`` does not hold one finite non-negative number per member with a
            positive sum.

    Shapes:
        - **input:** a (batched) ChainNet ``HeteroData``
        - **output:** dict, ``[S]`` service heads and ``[D]`` device heads
    """

    def __init__(self, members: Sequence[Mapping[str, Any]],
                 weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if len(members) == 0:
            raise ValueError("members must hold at least one model, got an empty sequence")
        built = []
        for i, spec in enumerate(members):
            name = spec.get("model_class")
            if name not in MODEL_CLASSES or name == "Ensemble":
                known = sorted(k for k in MODEL_CLASSES if k != "Ensemble")
                raise ValueError(f"members[{i}].model_class must be one of {known}, got {name!r}")
            built.append(MODEL_CLASSES[name](**dict(spec.get("model_kwargs", {}))))
        self.members = nn.ModuleList(built)
        self.weights: tuple[float, ...] | None = ensemble_weights(weights, len(built))

    @classmethod
    def from_models(cls, models: Sequence[nn.Module],
                    weights: Sequence[float] | None = None) -> Ensemble:
        """An ensemble holding copies of trained ``models`` (weights and normalisers).

        Args:
            models: The trained members.
            weights: Weight of each member in the mean (default: ``None``, equal weights;
                0 makes a critic, see the class docstring).
        """
        specs = [_spec(m) for m in models]
        ensemble = cls(specs, weights)
        for member, model in zip(ensemble.members, models):
            member.load_state_dict(model.state_dict())
        return ensemble

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """Constructor arguments, stored in checkpoints."""
        kwargs: dict[str, Any] = {"members": [_spec(m) for m in self.members]}
        if self.weights is not None:
            kwargs["weights"] = list(self.weights)
        return kwargs

    @property
    def predictive(self) -> tuple[bool, ...]:
        """Per member: does it move the prediction (weight > 0, not a critic)?"""
        on = set(mean_members(self.weights, len(self.members))[0])
        return tuple(i in on for i in range(len(self.members)))

    def __repr__(self) -> str:
        inner = ", ".join(repr(m) for m in self.members)
        if self.weights is not None:
            inner += f", weights={list(self.weights)}"
        return f"{self.__class__.__name__}({inner})"

    def member_outputs(self, data: HeteroData) -> list[TensorDict]:
        """Every member's prediction dict, in member order (their spread is an uncertainty)."""
        return [member(data) for member in self.members]

    @staticmethod
    def combine(outs: Sequence[TensorDict], weights: Sequence[float] | None = None
                ) -> TensorDict:
        """The (weighted) mean of members' prediction dicts, head by head.

        Args:
            outs: One prediction dict per member.
            weights: Weight of each member, summing to 1 (default: ``None``, the plain mean).
        """
        on, kept = mean_members(weights, len(outs))
        outs = [outs[i] for i in on]
        if kept is None:
            return {k: torch.stack([o[k] for o in outs]).mean(dim=0) for k in outs[0]}
        return {k: sum((w * o[k] for w, o in zip(kept, outs)), torch.zeros_like(outs[0][k]))
                for k in outs[0]}

    def forward(self, data: HeteroData) -> TensorDict:
        """The (weighted) mean of the members' predictions, head by head."""
        return self.combine(self.member_outputs(data), self.weights)


def mean_members(weights: Sequence[float] | None, n: int
                 ) -> tuple[list[int], list[float] | None]:
    """The members an ensemble's mean reads, and their weights.

    Critics (weight 0) are left out. Equal weights come back as ``None``: the plain mean,
    which gives the same numbers as an ensemble of those members alone.

    Args:
        weights: The ensemble's member weights (``None``: equal).
        n: Number of members.

    Returns:
        ``(indices of the members that predict, their weights or None)``.
    """
    if weights is None:
        return list(range(n)), None
    on = [i for i, w in enumerate(weights) if w > 0]
    kept = [float(weights[i]) for i in on]
    return on, (None if len(set(kept)) == 1 else kept)


def ensemble_weights(weights: Sequence[float] | None, n: int) -> tuple[float, ...] | None:
    """``weights`` of ``n`` members, checked and normalised to sum to 1 (``None`` stays).

    Raises:
        ValueError: If there is not one finite, non-negative weight per member, with at least
            one positive.
    """
    if weights is None:
        return None
    values = [float(w) for w in weights]
    if len(values) != n:
        raise ValueError(f"weights must hold one weight per member ({n}), got {len(values)}")
    if not all(math.isfinite(w) and w >= 0 for w in values) or sum(values) <= 0:
        raise ValueError(
            f"weights must be finite, non-negative and not all 0, got {values}; give each "
            "member a weight >= 0 (0 for a critic) with at least one positive"
        )
    total = sum(values)
    return tuple(w / total for w in values)


MODEL_CLASSES["Ensemble"] = Ensemble
