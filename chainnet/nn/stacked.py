r"""ChainNet members stacked along a leading dimension: one lean inference pass for an ensemble.

:class:`StackedChainNet` evaluates :math:`M` trained :class:`~chainnet.ChainNet` members (an
:class:`~chainnet.Ensemble`, or one model) in ONE pass: every weight is stacked into an
``[M, ...]`` tensor, every linear map is a batched matrix product
(:func:`torch.baddbmm`), and every scatter runs over the node dimension of ``[M, N, C]``
states. It computes exactly the math of :meth:`chainnet.ChainNet.forward` (same operations
per element; float32 rounding of the batched products may differ in the last bits), with no
module calls, no :class:`~torch_geometric.data.HeteroData` look-ups and no mode switches, which
is what makes a single-scenario prediction cheap.

Its input is a :class:`GraphTensors`: plain tensors with fragments already in the time-major
*packed* order of the path GRU (:func:`chainnet.nn.path_gru.pack_paths`) and paths sorted by
decreasing length, so the path GRU needs no gather, no padding and no scatter back.
:func:`chainnet.builder.build_tensors` builds it from scenarios.

The weights are a snapshot taken at construction, on the device of the members' parameters
(a plain object, not a module): build a new one after training or moving the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter

from chainnet.typing import NodeType, TensorDict

__all__ = ["GraphTensors", "StackedChainNet"]

_P_EPS = 1e-4  # the clip of chainnet.nn.heads
_NODE_TYPES: tuple[NodeType, ...] = ("service", "fragment", "device", "link")


class GraphTensors(NamedTuple):
    """A batch of ChainNet graphs as plain tensors, fragments in packed path order.

    Fragment rows are in the time-major packed order of the path GRU (all first fragments of
    the paths, longest path first, then all second fragments, ...); paths are sorted by
    decreasing length. Service and device rows keep the scenario order.

    Attributes:
        x: Raw features per node type (:data:`chainnet.schema.FEATURES`), float32
            ``[N_type, F_type]``.
        service_prior: Analytic service priors, float32 ``[S, 3]``.
        device_prior: Analytic device priors, float32 ``[D, 2]``.
        host: Device of each fragment ``[F]``.
        fragment_service: Service of each fragment ``[F]``.
        path_service: Service of each (sorted) path ``[P]``.
        batch_sizes: Paths still running at each step of the path GRU, int64 on the CPU
            ``[L_max]``.
        send_fragment: Fragment of each ``fragment -> link`` edge ``[E]``.
        send_link: Link of each such edge ``[E]``.
        service_graph: Scenario of each service ``[S]``.
        num_graphs: Number of scenarios.
        arrival_rate: Arrival rate of each service (requests/s), float64 ``[S]``.
        time_scale: No-queue latency of each service (s), float64 ``[S]``.
    """

    x: dict[NodeType, Tensor]
    service_prior: Tensor
    device_prior: Tensor
    host: Tensor
    fragment_service: Tensor
    path_service: Tensor
    batch_sizes: Tensor
    send_fragment: Tensor
    send_link: Tensor
    service_graph: Tensor
    num_graphs: int
    arrival_rate: Tensor
    time_scale: Tensor


def _lin(layer: nn.Linear) -> tuple[Tensor, Tensor | None]:
    w = layer.weight.detach().t()
    b = layer.bias.detach().unsqueeze(0) if layer.bias is not None else None
    return w, b


def _cell(cell: Any) -> tuple[Tensor, ...]:
    return tuple(getattr(cell, name).detach() for name in
                 ("weight_ih", "bias_ih", "weight_hh", "bias_hh"))


class StackedChainNet:
    r"""Inference of :math:`M` ChainNet members at once (see the module docstring).

    With member weights stacked, each linear map of width :math:`C_{in} \to C_{out}` is

    .. math:: \mathbf Y^{(m)} = \mathbf X^{(m)} \mathbf W^{(m)\top} + \mathbf b^{(m)},
        \qquad m = 1, \dots, M

    in one :func:`torch.baddbmm`; the GRU cells follow :func:`torch.gru_cell` operation by
    operation; the path GRU runs each member's packed sequence through the fused recurrent
    kernel of :class:`torch.nn.GRU`.

    Args:
        members: Trained ChainNet models with identical constructor arguments.

    Raises:
        ValueError: If ``members`` is empty, or the members are not ChainNet models of one
            configuration (:meth:`from_model` returns ``None`` instead).

    Shapes:
        - **input:** a :class:`GraphTensors`
        - **output:** dict of ``[M, S]`` service heads and ``[M, D]`` device heads
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        if len(members) == 0 or not all(_is_chainnet(m) for m in members):
            raise ValueError("members must be a non-empty sequence of ChainNet models")
        first: Any = members[0]
        spec = dict(first.init_kwargs)
        if any(_spec(m) != spec for m in members):
            raise ValueError(f"members must share one configuration, first is {spec}")
        self.num_members = len(members)
        self.hidden_channels = int(spec["hidden_channels"])
        self.num_iterations = int(spec["num_iterations"])
        self.heads = int(spec["heads"])
        self.use_priors = bool(spec["use_priors"])
        self.negative_slope = float(first.device_attention.negative_slope)
        ms: list[Any] = list(members)

        def stack(tensors: Sequence[Tensor | None]) -> Tensor | None:
            if any(t is None for t in tensors):
                return None
            return torch.stack([t for t in tensors if t is not None]).contiguous()

        def lin(get: Any) -> tuple[Tensor | None, Tensor | None]:
            pairs = [_lin(get(m)) for m in ms]
            return stack([p[0] for p in pairs]), stack([p[1] for p in pairs])

        def cell(get: Any) -> tuple[Tensor, ...]:
            parts = [_cell(get(m)) for m in ms]
            w_ih, b_ih, w_hh, b_hh = (torch.stack(list(p)) for p in zip(*parts))
            return (w_ih.transpose(1, 2).contiguous(), b_ih.unsqueeze(1),
                    w_hh.transpose(1, 2).contiguous(), b_hh.unsqueeze(1))

        self.norm: dict[str, Tensor] = {}
        for nt in _NODE_TYPES:
            for stat in ("mean", "std", "lo", "hi"):
                t = stack([m.normalizer._buf(f"{nt}_{stat}").detach() for m in ms])
                assert t is not None
                self.norm[f"{nt}_{stat}"] = t.unsqueeze(1)
        self.enc = {nt: (lin(lambda m, nt=nt: m.encoders[nt][0]),
                         lin(lambda m, nt=nt: m.encoders[nt][2])) for nt in _NODE_TYPES}
        self.path_cell = cell(lambda m: _GRUWeights(m.path_gru.gru))
        self.fragment_cell = cell(lambda m: m.fragment_cell)
        self.link_to_fragment = lin(lambda m: m.link_to_fragment)[0]
        self.att_s = lin(lambda m: m.device_attention.W_s)
        self.att_d = lin(lambda m: m.device_attention.W_d)[0]
        a = stack([m.device_attention.a.detach() for m in ms])
        assert a is not None
        self.att_a = a  # [M, 1, heads, C]
        self.device_cell = cell(lambda m: m.device_cell)
        self.link_W = lin(lambda m: m.link_update.W)
        self.link_cell = cell(lambda m: m.link_update.cell)
        self.join = lin(lambda m: m.branch_join.W)
        self.service_cell = cell(lambda m: m.service_cell)
        self.service_mlp = (lin(lambda m: m.readout.service_mlp[0]),
                            lin(lambda m: m.readout.service_mlp[2]))
        self.device_mlp = (lin(lambda m: m.readout.device_mlp[0]),
                           lin(lambda m: m.readout.device_mlp[2]))

    @classmethod
    def from_model(cls, model: nn.Module) -> StackedChainNet | None:
        """Stack a ChainNet or an Ensemble of ChainNets of one configuration, else ``None``."""
        members = list(getattr(model, "members", [model]))
        if not members or not all(_is_chainnet(m) for m in members):
            return None
        spec = _spec(members[0])
        if any(_spec(m) != spec for m in members):
            return None
        return cls(members)

    # -- building blocks -----------------------------------------------------------------------

    @staticmethod
    def _linear(x: Tensor, wb: tuple[Tensor | None, Tensor | None]) -> Tensor:
        w, b = wb
        assert w is not None
        return torch.bmm(x, w) if b is None else torch.baddbmm(b, x, w)

    def _mlp(self, x: Tensor, layers: tuple[Any, Any]) -> Tensor:
        return self._linear(torch.relu(self._linear(x, layers[0])), layers[1])

    @staticmethod
    def _gru_cell(x: Tensor | None, h: Tensor, weights: tuple[Tensor, ...],
                  gi: Tensor | None = None) -> Tensor:
        # the operations of ATen's GRUCell, on [M, N, C] states; ``gi``: ready input gates
        w_ih, b_ih, w_hh, b_hh = weights
        if gi is None:
            assert x is not None
            gi = torch.baddbmm(b_ih, x, w_ih)
        gh = torch.baddbmm(b_hh, h, w_hh)
        H = h.size(-1)
        rz = (gh[..., : 2 * H] + gi[..., : 2 * H]).sigmoid_()
        n = _tanh_(gi[..., 2 * H:] + gh[..., 2 * H:] * rz[..., :H])
        return (h - n).mul_(rz[..., H:]).add_(n)

    def _path_gru(self, x: Tensor, h0: Tensor, batch_sizes: list[int]) -> tuple[Tensor, Tensor]:
        """Packed GRU over the paths, members at once: per-row outputs and final states.

        Rows of step ``t`` are contiguous and belong to the first ``batch_sizes[t]`` paths
        (sorted by decreasing length), so each step is a prefix of the previous one.
        """
        w_ih, b_ih = self.path_cell[0], self.path_cell[1]
        gi = torch.baddbmm(b_ih, x, w_ih)  # all input gates at once, as torch.nn.GRU on CPU
        out = torch.empty(x.size(0), x.size(1), h0.size(-1), dtype=x.dtype, device=x.device)
        last = torch.empty_like(h0)
        h, start = h0, 0
        for t, size in enumerate(batch_sizes):
            h = self._gru_cell(None, h[:, :size], self.path_cell, gi[:, start:start + size])
            out[:, start:start + size] = h
            start += size
            end = batch_sizes[t + 1] if t + 1 < len(batch_sizes) else 0
            if end < size:  # paths of rank end..size-1 end at this step
                last[:, end:size] = h[:, end:size]
        return out, last

    def encode(self, x: dict[NodeType, Tensor], z: dict[NodeType, Tensor] | None = None
               ) -> dict[NodeType, Tensor]:
        """Normalise and encode every node type: ``[N, F]`` raw -> ``[M, N, H]`` states.

        Args:
            x: Raw features per node type.
            z: ``asinh(x)`` per node type when already computed (default: ``None``).
        """
        out = {}
        for nt in _NODE_TYPES:
            zt = torch.asinh(x[nt]) if z is None else z[nt]
            xn = (zt.unsqueeze(0) - self.norm[f"{nt}_mean"]) / self.norm[f"{nt}_std"]
            out[nt] = self._mlp(xn, self.enc[nt])
        return out

    def __call__(self, g: GraphTensors, z: dict[NodeType, Tensor] | None = None) -> TensorDict:
        """Every member's bounded predictions, stacked: ``[M, S]`` and ``[M, D]`` heads.

        Args:
            g: The graphs.
            z: ``asinh`` of the raw features per node type, if already computed (default:
                ``None``).
        """
        h = self.encode(g.x, z)
        h_s, h_f, h_d, h_l = h["service"], h["fragment"], h["device"], h["link"]
        M, num_s = h_s.size(0), h_s.size(1)
        num_f, num_d, num_l = h_f.size(1), h_d.size(1), h_l.size(1)
        host, path_service = g.host, g.path_service
        with_links = g.send_fragment.numel() > 0
        joined = h_s.new_zeros(M, num_s, self.hidden_channels)
        heads, C = self.heads, self.hidden_channels
        batch_sizes = g.batch_sizes.tolist()
        for _ in range(self.num_iterations):
            h_host = h_d.index_select(1, host)
            o_f, h_p = self._path_gru(torch.cat([h_f, h_host], dim=-1),
                                      h_s.index_select(1, path_service), batch_sizes)
            if with_links:
                link_msg = scatter(h_l.index_select(1, g.send_link), g.send_fragment, dim=1,
                                   dim_size=num_f, reduce="mean")
                h_host = h_host + self._linear(link_msg, (self.link_to_fragment, None))
            h_f = self._gru_cell(torch.cat([o_f, h_host], dim=-1), h_f, self.fragment_cell)
            # device attention (chainnet.nn.DeviceAttention), fragments j -> host i
            x_s = self._linear(h_f, self.att_s).view(M, num_f, heads, C)
            x_d = self._linear(h_d, (self.att_d, None)).view(M, num_d, heads, C)
            e = F.leaky_relu(x_s + x_d.index_select(1, host), self.negative_slope)
            alpha = (e * self.att_a).sum(dim=-1)
            a_max = scatter(alpha, host, dim=1, dim_size=num_d, reduce="max")
            ex = (alpha - a_max.index_select(1, host)).exp()
            a_sum = scatter(ex, host, dim=1, dim_size=num_d, reduce="sum") + 1e-16
            alpha = ex / a_sum.index_select(1, host)
            msg = scatter(x_s * alpha.unsqueeze(-1), host, dim=1, dim_size=num_d, reduce="sum")
            h_d = self._gru_cell(msg.mean(dim=2), h_d, self.device_cell)
            if num_l > 0:
                m_l = scatter(self._linear(h_f, self.link_W).index_select(1, g.send_fragment),
                              g.send_link, dim=1, dim_size=num_l, reduce="mean")
                h_l = self._gru_cell(m_l, h_l, self.link_cell)
            total = scatter(h_p, path_service, dim=1, dim_size=num_s, reduce="sum")
            worst = scatter(h_p, path_service, dim=1, dim_size=num_s, reduce="max")
            joined = self._linear(torch.cat([total, worst], dim=-1), self.join)
            h_s = self._gru_cell(joined, h_s, self.service_cell)
        return self._readout(torch.cat([h_s, joined], dim=-1), h_d, g)

    def _readout(self, h_service: Tensor, h_device: Tensor, g: GraphTensors) -> TensorDict:
        # chainnet.nn.PerformanceHeads, members stacked
        ds = self._mlp(h_service, self.service_mlp)
        dd = self._mlp(h_device, self.device_mlp)
        sp, dp = g.service_prior, g.device_prior
        if self.use_priors:
            s_logit = torch.logit(sp[:, :2].clamp(_P_EPS, 1.0 - _P_EPS))
            d_logit = torch.logit(dp.clamp(_P_EPS, 1.0 - _P_EPS))
            excess = (sp[:, 2] - 1.0).clamp_min(_P_EPS)
            p95_base = excess + torch.log(-torch.expm1(-excess))
        else:
            s_logit, d_logit = torch.zeros_like(sp[:, :2]), torch.zeros_like(dp)
            p95_base = torch.ones_like(ds[..., 2])
        return {
            "tput_ratio": torch.sigmoid(s_logit[:, 0] + ds[..., 0]),
            "respt_ratio": torch.sigmoid(s_logit[:, 1] + ds[..., 1]),
            "p95_ratio": 1.0 + F.softplus(p95_base + ds[..., 2]),
            "utilization": torch.sigmoid(d_logit[:, 0] + dd[..., 0]),
            "drop_prob": torch.sigmoid(d_logit[:, 1] + dd[..., 1]),
        }

    def out_of_range(self, g: GraphTensors, z: dict[NodeType, Tensor], margin: float) -> Tensor:
        """Per service: is a feature of it, its fragments, their hosts or links out of range?

        The same flags as :func:`chainnet.surrogate.service_out_of_range` OR-ed over the
        members' normalisers.

        Args:
            g: The graphs.
            z: ``asinh`` of the raw features per node type.
            margin: Widening of the training range, in standard deviations.

        Returns:
            Bool ``[S]``.
        """
        flag = {}
        for nt in _NODE_TYPES:
            std = self.norm[f"{nt}_std"]
            zt = z[nt].unsqueeze(0)
            bad = (zt < self.norm[f"{nt}_lo"] - margin * std) | (
                zt > self.norm[f"{nt}_hi"] + margin * std)
            flag[nt] = bad.any(dim=-1).any(dim=0)
        frag = (flag["fragment"] | flag["device"].index_select(0, g.host)).long()
        if g.send_fragment.numel() > 0:
            link = scatter(flag["link"].long().index_select(0, g.send_link), g.send_fragment,
                           dim_size=frag.size(0), reduce="max")
            frag = frag.maximum(link)
        hit = scatter(frag, g.fragment_service, dim_size=g.service_prior.size(0), reduce="max")
        return flag["service"] | hit.bool()

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(members={self.num_members}, "
                f"hidden_channels={self.hidden_channels}, "
                f"num_iterations={self.num_iterations})")


class _GRUWeights:
    """The one-layer weights of a :class:`torch.nn.GRU` under :class:`torch.nn.GRUCell` names."""

    def __init__(self, gru: nn.GRU) -> None:
        self.weight_ih, self.bias_ih = gru.weight_ih_l0, gru.bias_ih_l0
        self.weight_hh, self.bias_hh = gru.weight_hh_l0, gru.bias_hh_l0


def _tanh_(x: Tensor) -> Tensor:
    """In-place tanh: numpy's vectorised kernel on the CPU, torch's elsewhere.

    numpy's is several times faster than torch's on some CPUs, to within an ulp.
    """
    if x.device.type == "cpu" and x.is_contiguous() and x.dtype == torch.float32:
        a = x.numpy()
        np.tanh(a, out=a)
        return x
    return x.tanh_()


def _spec(model: nn.Module) -> dict[str, Any]:
    kwargs: Any = model.init_kwargs
    return dict(kwargs)


def _is_chainnet(model: nn.Module) -> bool:
    return type(model).__name__ == "ChainNet" and hasattr(model, "path_gru")
