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

import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chainnet.models import ensemble_weights, mean_members
from chainnet.typing import NodeType, TensorDict

__all__ = ["GraphTensors", "StackedChainNet"]

_P_EPS = 1e-4  # the clip of chainnet.nn.heads
#: Below this many elements a temporary is left to its operation to allocate (cheap), and a
#: gather or scatter uses its one-operation dim-1 form (see ``_Workspace`` and ``_Index``).
_SCRATCH_MIN = 1 << 16
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
        weights: Weight of each member in the mean (summing to 1; 0 for a critic, see
            :class:`chainnet.Ensemble`), or ``None`` for the plain mean (default).

    Raises:
        ValueError: If ``members`` is empty, or the members are not ChainNet models of one
            configuration (:meth:`from_model` returns ``None`` instead), or ``weights`` does
            not hold one non-negative weight per member with at least one positive.

    Shapes:
        - **input:** a :class:`GraphTensors`
        - **output:** dict of ``[M, S]`` service heads and ``[M, D]`` device heads
    """

    #: Inputs of at most this many node rows (services, fragments, devices and links
    #: together; a few small scenarios) on the CPU run through the compiled kernel of
    #: :mod:`chainnet.nn.compiled`, which agrees with this pass to float32 rounding and
    #: avoids its framework overhead (about 3.5x faster for one scenario, even at about 140
    #: rows); larger inputs run the batched products here. ``0`` turns the kernel off.
    compiled_max_rows: int = 128

    def __init__(self, members: Sequence[nn.Module],
                 weights: Sequence[float] | None = None) -> None:
        if len(members) == 0 or not all(_is_chainnet(m) for m in members):
            raise ValueError("members must be a non-empty sequence of ChainNet models")
        first: Any = members[0]
        spec = dict(first.init_kwargs)
        if any(_spec(m) != spec for m in members):
            raise ValueError(f"members must share one configuration, first is {spec}")
        self.num_members = len(members)
        # the members that move the prediction (only their training range bounds
        # out_of_range) and their weights in the mean (None: the plain mean)
        self.predictive, self._mean_weights = mean_members(
            ensemble_weights(weights, len(members)), len(members))
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
        l2f = lin(lambda m: m.link_to_fragment)[0]
        assert l2f is not None
        self.link_to_fragment = l2f
        self.att_s = lin(lambda m: m.device_attention.W_s)
        att_d = lin(lambda m: m.device_attention.W_d)[0]
        assert att_d is not None
        self.att_d = att_d
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
        # both products of the device states in one: the attention's W_d (no bias) and the
        # device cell's hidden weights
        zeros = self.device_cell[3].new_zeros(self.num_members, 1, self.att_d.size(-1))
        self._ws = _Workspace()
        self._compiled_weights: Any = None  # chainnet.nn.compiled.CompiledWeights, on first use
        self._bounds: dict[float, dict[NodeType, tuple[Tensor, Tensor]]] = {}
        self.device_reads = (torch.cat([self.att_d, self.device_cell[2]], dim=-1).contiguous(),
                             torch.cat([zeros, self.device_cell[3]], dim=-1).contiguous())

    @classmethod
    def from_model(cls, model: nn.Module) -> StackedChainNet | None:
        """Stack a ChainNet or an Ensemble of ChainNets of one configuration, else ``None``."""
        members = list(getattr(model, "members", [model]))
        if not members or not all(_is_chainnet(m) for m in members):
            return None
        spec = _spec(members[0])
        if any(_spec(m) != spec for m in members):
            return None
        return cls(members, getattr(model, "weights", None))

    def combine(self, outs: Mapping[str, Any]) -> dict[str, Any]:
        """The ensemble's prediction from stacked member heads: ``[M, N]`` -> ``[N]``.

        The mean over the members that predict (all but the critics), plain when their
        weights are equal (:func:`chainnet.models.mean_members`), else weighted. Tensors or
        numpy arrays (the same operations on either).
        """
        on, kept = self.predictive, self._mean_weights
        if len(on) < self.num_members:
            outs = {k: v[on] for k, v in outs.items()}
        if kept is None:
            return {k: v.mean(axis=0) for k, v in outs.items()}
        first = next(iter(outs.values()))
        if isinstance(first, np.ndarray):
            w: Any = np.asarray(kept, dtype=first.dtype).reshape(-1, 1)
        else:
            w = torch.tensor(kept, dtype=first.dtype, device=first.device).view(-1, 1)
        return {k: (v * w).sum(axis=0) for k, v in outs.items()}

    # -- building blocks -----------------------------------------------------------------------

    @staticmethod
    def _linear(x: Tensor, wb: tuple[Tensor | None, Tensor | None]) -> Tensor:
        w, b = wb
        assert w is not None
        return torch.bmm(x, w) if b is None else torch.baddbmm(b, x, w)

    def _mlp(self, x: Tensor, layers: tuple[Any, Any]) -> Tensor:
        return self._linear(torch.relu(self._linear(x, layers[0])), layers[1])

    def _gates(self, gi: Tensor, gh: Tensor, h: Tensor, out: Tensor | None = None) -> Tensor:
        r"""The gate math of ATen's GRUCell on ``[M, N, 3H]`` gate pre-activations.

        .. math::
            \mathbf r, \mathbf z = \sigma(\mathbf g^i_{rz} + \mathbf g^h_{rz}), \quad
            \mathbf n = \tanh(\mathbf g^i_n + \mathbf r \odot \mathbf g^h_n), \quad
            \mathbf h' = (\mathbf h - \mathbf n) \odot \mathbf z + \mathbf n

        The same operations in the same order as ATen (so the same float32 results), with
        ``gi`` (input gates, biases included) overwritten, ``gh`` (hidden gates, biases
        included) read only and ``h'`` written to ``out`` when given.
        """
        H = h.size(-1)
        gi_rz, gi_n = gi.split_with_sizes((2 * H, H), dim=-1)
        gh_rz, gh_n = gh.split_with_sizes((2 * H, H), dim=-1)
        r, z = gi_rz.add_(gh_rz).sigmoid_().split_with_sizes((H, H), dim=-1)
        n = _tanh_(torch.mul(gh_n, r, out=self._ws.get("gates_n", h.shape, h)).add_(gi_n))
        return torch.sub(h, n, out=out).mul_(z).add_(n)

    def _gru_cell(self, x: Tensor, h: Tensor, weights: tuple[Tensor, ...], name: str) -> Tensor:
        """:class:`torch.nn.GRUCell` on ``[M, N, C]`` states (scratch tensors under ``name``)."""
        w_ih, b_ih, w_hh, b_hh = weights
        gate_shape = (h.size(0), h.size(1), w_ih.size(-1))
        gi = torch.baddbmm(b_ih, x, w_ih, out=self._ws.get(name + "_gi", gate_shape, h))
        gh = torch.baddbmm(b_hh, h, w_hh, out=self._ws.get(name + "_gh", gate_shape, h))
        return self._gates(gi, gh, h)

    def _path_gru(self, gi: Tensor, h0: Tensor, batch_sizes: list[int], out: Tensor,
                  last_rows: _Index) -> Tensor:
        """Packed GRU over the paths, members at once: writes per-row outputs, returns final states.

        ``gi`` holds the input gates of every packed row (biases included; overwritten), and
        ``out`` ``[M, F, H]`` (any strides) receives the output of every row. Rows of step
        ``t`` are contiguous and belong to the first ``batch_sizes[t]`` paths (sorted by
        decreasing length), so each step is a prefix of the previous one; ``last_rows``
        (an :class:`_Index` into the ``F`` rows) picks each path's last step.
        """
        _, _, w_hh, b_hh = self.path_cell
        gh_buf = self._ws.get("path_gh", (h0.size(0), h0.size(1), w_hh.size(-1)), h0)
        h = h0
        steps = zip(gi.split_with_sizes(batch_sizes, dim=1),
                    out.split_with_sizes(batch_sizes, dim=1))
        for size, (gi_t, out_t) in zip(batch_sizes, steps):
            if size < h.size(1):
                h = h[:, :size]
            gh = torch.baddbmm(b_hh, h, w_hh, out=None if gh_buf is None else gh_buf[:, :size])
            h = self._gates(gi_t, gh, h, out_t)
        return _gather(out, last_rows)

    def encode(self, x: dict[NodeType, Tensor], z: dict[NodeType, Tensor] | None = None
               ) -> dict[NodeType, Tensor]:
        """Normalise and encode every node type: ``[N, F]`` raw -> ``[M, N, H]`` states.

        Args:
            x: Raw features per node type.
            z: ``asinh(x)`` per node type when already computed (default: ``None``).
        """
        out = {}
        for nt in _NODE_TYPES:
            if x[nt].size(0) == 0:
                out[nt] = x[nt].new_zeros(self.num_members, 0, self.hidden_channels)
                continue
            zt = torch.asinh(x[nt]) if z is None else z[nt]
            xn = (zt - self.norm[f"{nt}_mean"]).div_(self.norm[f"{nt}_std"])  # [M, N, F]
            out[nt] = self._mlp(xn, self.enc[nt])
        return out

    def __call__(self, g: GraphTensors, z: dict[NodeType, Tensor] | None = None,
                 services_only: bool = False) -> TensorDict:
        r"""Every member's bounded predictions, stacked: ``[M, S]`` and ``[M, D]`` heads.

        Both products of the device states (the attention's :math:`\mathbf W_d` and the
        device cell's hidden weights) are one batched product; the GRU gates are computed in
        place; gathers and scatters of many rows run as dim-0 kernels over ``[M * N, C]``
        views (:class:`_Index`); the large temporaries live in a per-thread workspace
        (:class:`_Workspace`). Every output is bit-identical to the operation-by-operation
        evaluation. Inputs of at most :attr:`compiled_max_rows` rows run through the compiled
        kernel instead (:func:`chainnet.nn.compiled.compiled_forward`; float32 rounding apart,
        the same outputs).

        With ``services_only``, only the service heads are returned, and the work that only
        the device heads read is skipped: the last iteration's fragment cell, device
        attention, device cell and link update, and the device readout (the link update of
        the last iteration is skipped always: no head reads it). The service heads are the
        same, bit for bit.

        Args:
            g: The graphs.
            z: ``asinh`` of the raw features per node type, if already computed (default:
                ``None``).
            services_only: Return the service heads only (default: ``False``).
        """
        if self.runs_compiled(g):
            from chainnet.nn.compiled import compiled_forward

            return compiled_forward(self, g, z, services_only=services_only)
        h = self.encode(g.x, z)
        h_s, h_f, h_d, h_l = h["service"], h["fragment"], h["device"], h["link"]
        M, num_s = h_s.size(0), h_s.size(1)
        num_f, num_d, num_l = h_f.size(1), h_d.size(1), h_l.size(1)
        host, path_service = g.host, g.path_service
        H = self.hidden_channels
        batch_sizes = g.batch_sizes.tolist()
        # packed row of each path's last step: rank p runs len_p = #{t: batch_sizes[t] > p}
        ranks = torch.arange(path_service.size(0))
        steps = g.batch_sizes.view(-1, 1).gt(ranks).sum(dim=0)
        last_row = ((g.batch_sizes.cumsum(0) - g.batch_sizes).index_select(0, steps - 1)
                    + ranks).to(path_service.device)
        host_rows = _Index.of(host, num_d, M, H)
        path_rows = _Index.of(path_service, num_s, M, H)
        last_rows = _Index.of(last_row, num_f, M, H)
        links = _LinkPlan.of(g, num_f, num_l, M, H, h_f)
        w_ih, b_ih = self.path_cell[0], self.path_cell[1]
        ws = self._ws
        joined = h_s.new_zeros(M, num_s, H)
        for it in range(self.num_iterations):
            last_it = it == self.num_iterations - 1
            # [h_f | h_host]: the path GRU's input; its output then replaces h_f, which makes
            # [o_f | h_host], the fragment cell's input
            both = torch.cat([h_f, _gather(h_d, host_rows)], dim=-1,
                             out=ws.get("both", (M, num_f, 2 * H), h_f))
            gi = torch.baddbmm(b_ih, both, w_ih, out=ws.get("fragment_gi", (M, num_f, 3 * H), h_f))
            h_p = self._path_gru(gi, _gather(h_s, path_rows), batch_sizes, both[..., :H],
                                 last_rows)
            if not (services_only and last_it):
                h_f, h_d, h_l = self._update_fragments_devices_links(
                    both, h_f, h_d, h_l, host_rows, links, last_it)
            total = _scatter_sum(h_p, path_rows)
            worst = _scatter_max(h_p, path_rows)
            joined = self._linear(torch.cat([total, worst], dim=-1), self.join)
            h_s = self._gru_cell(joined, h_s, self.service_cell, "service")
        return self._readout(torch.cat([h_s, joined], dim=-1), h_d, g, services_only)

    def _update_fragments_devices_links(
        self, both: Tensor, h_f: Tensor, h_d: Tensor, h_l: Tensor, host_rows: _Index,
        links: _LinkPlan | None, last_it: bool,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """One iteration's fragment cell, device attention and cell, and link update.

        ``both`` holds ``[o_f | h_host]`` (the path GRU's outputs and the host states); the
        link messages are added to its host half. The link update of the last iteration is
        skipped (``last_it``): no head reads it.
        """
        M, num_f, num_d, num_l = h_f.size(0), h_f.size(1), h_d.size(1), h_l.size(1)
        heads, C, H = self.heads, self.hidden_channels, self.hidden_channels
        hc = heads * C
        ws = self._ws
        w_dev, b_dev = self.device_reads
        # W_d x_i, then the device cell's hidden gates
        y_d = torch.baddbmm(b_dev, h_d, w_dev, out=ws.get("y_d", (M, num_d, hc + 3 * H), h_d))
        if links is not None:
            link_msg = _scatter_sum(_gather(h_l, links.link_rows), links.fragment_rows)
            both[..., H:].add_(torch.bmm(link_msg.div_(links.per_fragment),
                                         self.link_to_fragment))
        h_f = self._gru_cell(both, h_f, self.fragment_cell, "fragment")
        # device attention (chainnet.nn.DeviceAttention), fragments j -> host i
        att_s_w, att_s_b = self.att_s
        assert att_s_w is not None
        x_s = ws.get("x_s", (M, num_f, hc), h_f)
        x_s = torch.bmm(h_f, att_s_w, out=x_s) if att_s_b is None else torch.baddbmm(
            att_s_b, h_f, att_s_w, out=x_s)
        e = _gather(y_d[..., :hc], host_rows, ws.get("e", (M * num_f, hc), h_f))
        e = F.leaky_relu_(e.add_(x_s), self.negative_slope)
        alpha = e.view(M, num_f, heads, C).mul_(self.att_a).sum(dim=-1)
        a_max = _scatter_max(alpha, host_rows)
        ex = alpha.sub_(_gather(a_max, host_rows)).exp_()
        a_sum = _scatter_sum(ex, host_rows).add_(1e-16)
        alpha = ex.div_(_gather(a_sum, host_rows))
        msg = _scatter_sum(x_s.view(M, num_f, heads, C).mul_(alpha.unsqueeze(-1)).view(
            M, num_f, hc), host_rows, ws.get("msg", (M * num_d, hc), h_d))
        msg = msg if heads == 1 else msg.view(M, num_d, heads, C).mean(dim=2)
        w_ih_d, b_ih_d = self.device_cell[0], self.device_cell[1]
        gi_d = torch.baddbmm(b_ih_d, msg, w_ih_d, out=ws.get("device_gi", (M, num_d, 3 * H),
                                                             h_d))
        h_d = self._gates(gi_d, y_d[..., hc:], h_d)
        if num_l > 0 and not last_it:
            m_l = h_l.new_zeros(M, num_l, H)
            if links is not None:
                m_l = _scatter_sum(_gather(self._linear(h_f, self.link_W), links.fragment_rows),
                                   links.link_rows).div_(links.per_link)
            h_l = self._gru_cell(m_l, h_l, self.link_cell, "link")
        return h_f, h_d, h_l

    def _readout(self, h_service: Tensor, h_device: Tensor, g: GraphTensors,
                 services_only: bool = False) -> TensorDict:
        # chainnet.nn.PerformanceHeads, members stacked
        ds = self._mlp(h_service, self.service_mlp)
        sp, dp = g.service_prior, g.device_prior
        if self.use_priors:
            s_logit = torch.logit(sp[:, :2].clamp(_P_EPS, 1.0 - _P_EPS))
            excess = (sp[:, 2] - 1.0).clamp_min(_P_EPS)
            p95_base = excess + torch.log(-torch.expm1(-excess))
        else:
            s_logit = torch.zeros_like(sp[:, :2])
            p95_base = torch.ones_like(ds[..., 2])
        out = {
            "tput_ratio": torch.sigmoid(s_logit[:, 0] + ds[..., 0]),
            "respt_ratio": torch.sigmoid(s_logit[:, 1] + ds[..., 1]),
            "p95_ratio": 1.0 + F.softplus(p95_base + ds[..., 2]),
        }
        if not services_only:
            dd = self._mlp(h_device, self.device_mlp)
            d_logit = (torch.logit(dp.clamp(_P_EPS, 1.0 - _P_EPS)) if self.use_priors
                       else torch.zeros_like(dp))
            out["utilization"] = torch.sigmoid(d_logit[:, 0] + dd[..., 0])
            out["drop_prob"] = torch.sigmoid(d_logit[:, 1] + dd[..., 1])
        return out

    def runs_compiled(self, g: GraphTensors) -> bool:
        """Whether :meth:`__call__` runs ``g`` through the compiled kernel.

        At most :attr:`compiled_max_rows` node rows (and at least one), float32, on the CPU.
        """
        return 0 < sum(x.size(0) for x in g.x.values()) <= self.compiled_max_rows and all(
            x.device.type == "cpu" and x.dtype == torch.float32 for x in g.x.values())

    def range_bounds(self, margin: float) -> dict[NodeType, tuple[Tensor, Tensor]]:
        """Per node type, the ``(lo, hi)`` bounds ``[F]`` of ``asinh`` features in range.

        A feature is out of range for a member below ``lo_m - margin std_m`` or above
        ``hi_m + margin std_m`` of its normaliser; OR-ed over the members that predict, the
        bounds are the largest ``lo`` and the smallest ``hi`` (cached per margin).
        """
        bounds = self._bounds.get(margin)
        if bounds is None:
            on = self.predictive
            norm = {k: v[on] for k, v in self.norm.items()}
            bounds = self._bounds[margin] = {
                nt: ((norm[f"{nt}_lo"] - margin * norm[f"{nt}_std"]).amax(dim=0).view(-1),
                     (norm[f"{nt}_hi"] + margin * norm[f"{nt}_std"]).amin(dim=0).view(-1))
                for nt in _NODE_TYPES}
        return bounds

    def out_of_range(self, g: GraphTensors, z: Mapping[NodeType, Tensor | np.ndarray],
                     margin: float) -> Tensor:
        """Per service: is a feature of it, its fragments, their hosts or links out of range?

        The same flags as :func:`chainnet.surrogate.service_out_of_range` OR-ed over the
        normalisers of the members that predict (critics excluded), computed in numpy.

        Args:
            g: The graphs.
            z: ``asinh`` of the raw features per node type (tensors or arrays).
            margin: Widening of the training range, in standard deviations.

        Returns:
            Bool ``[S]`` (a tensor sharing its memory with a numpy array).
        """
        flag: dict[NodeType, np.ndarray] = {}
        for nt, (lo, hi) in self.range_bounds(margin).items():
            zt = z[nt]
            zn = zt if isinstance(zt, np.ndarray) else zt.detach().cpu().numpy()
            flag[nt] = np.asarray(((zn < lo.numpy()) | (zn > hi.numpy())).any(axis=-1))
        frag = flag["fragment"] | flag["device"][g.host.numpy()]
        if g.send_fragment.numel() > 0:
            np.logical_or.at(frag, g.send_fragment.numpy(), flag["link"][g.send_link.numpy()])
        hit = np.bincount(g.fragment_service.numpy(), weights=frag,
                          minlength=g.service_prior.size(0)) > 0
        return torch.from_numpy(flag["service"] | hit)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(members={self.num_members}, "
                f"hidden_channels={self.hidden_channels}, "
                f"num_iterations={self.num_iterations})")


class _Workspace:
    """Scratch tensors reused from call to call, one set per thread.

    A fresh multi-megabyte tensor costs a page fault per 4 KiB page when first written (the
    allocator maps large blocks anew each time); the large temporaries of
    :class:`StackedChainNet` therefore live here, each under its own name, and only grow.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, name: str, shape: Sequence[int], like: Tensor) -> Tensor | None:
        """A contiguous scratch tensor of ``shape``, dtype and device of ``like`` (uninitialised).

        ``None`` (for an ``out=`` argument: let the operation allocate) below
        :data:`_SCRATCH_MIN` elements, where a fresh tensor is cheap. Two live temporaries
        must not share a ``name``.
        """
        numel = math.prod(shape)
        if numel < _SCRATCH_MIN:
            return None
        bufs: dict[str, Tensor] | None = getattr(self._local, "bufs", None)
        if bufs is None:
            bufs = self._local.bufs = {}
        buf = bufs.get(name)
        if buf is None or buf.numel() < numel or buf.dtype != like.dtype \
                or buf.device != like.device:
            buf = bufs[name] = like.new_empty(numel)
        return buf[:numel].view(shape)


class _GRUWeights:
    """The one-layer weights of a :class:`torch.nn.GRU` under :class:`torch.nn.GRUCell` names."""

    def __init__(self, gru: nn.GRU) -> None:
        self.weight_ih, self.bias_ih = gru.weight_ih_l0, gru.bias_ih_l0
        self.weight_hh, self.bias_hh = gru.weight_hh_l0, gru.bias_hh_l0


class _LinkPlan(NamedTuple):
    """Where the link messages go, for the means of torch_geometric's ``scatter(reduce="mean")``.

    Attributes:
        fragment_rows: The sending fragment of each (fragment, link) edge.
        link_rows: The link of each edge.
        per_fragment: Edges per fragment, at least 1, ``[1, F, 1]``.
        per_link: Edges per link, at least 1, ``[1, L, 1]``.
    """

    fragment_rows: _Index
    link_rows: _Index
    per_fragment: Tensor
    per_link: Tensor

    @classmethod
    def of(cls, g: GraphTensors, num_f: int, num_l: int, M: int, H: int, like: Tensor
           ) -> _LinkPlan | None:
        """The plan of ``g``'s (fragment, link) edges, ``None`` without any."""
        send_f, send_l = g.send_fragment, g.send_link
        if send_f.numel() == 0:
            return None
        ones = like.new_ones(send_f.size(0))
        per_frag = like.new_zeros(num_f).scatter_add_(0, send_f, ones).clamp_(min=1)
        per_link = like.new_zeros(num_l).scatter_add_(0, send_l, ones).clamp_(min=1)
        return cls(_Index.of(send_f, num_f, M, H), _Index.of(send_l, num_l, M, H),
                   per_frag.view(1, -1, 1), per_link.view(1, -1, 1))


class _Index(NamedTuple):
    """A node index ``[E]`` for member-stacked ``[M, N, C]`` states.

    Large gathers and scatters run over the rows of ``[M * N, C]`` views (dim-0 kernels,
    several times faster on the CPU than their dim-1 forms); small ones use the dim-1 forms,
    one operation each.
    """

    nodes: Tensor
    rows: Tensor | None  # index + m * N for m = 0 .. M-1, member-major; None when small
    size: int  # N

    @classmethod
    def of(cls, index: Tensor, size: int, num_members: int, width: int) -> _Index:
        """Index ``index`` into ``size`` nodes; ``width``: the channels it moves per row."""
        if num_members * index.numel() * width < _SCRATCH_MIN:
            return cls(index, None, size)
        offset = torch.arange(num_members, device=index.device).view(-1, 1) * size
        return cls(index, (index.view(1, -1) + offset).view(-1), size)


def _gather(x: Tensor, ix: _Index, out: Tensor | None = None) -> Tensor:
    """Rows ``ix`` of member-stacked states: ``[M, N, C]`` -> ``[M, E, C]``.

    ``x`` may be a column slice of a contiguous tensor; ``out`` ``[M * E, C]`` is optional.
    """
    if ix.rows is None:
        return x.index_select(1, ix.nodes)
    M, C = x.size(0), x.size(-1)
    return torch.index_select(x.reshape(-1, C), 0, ix.rows, out=out).view(M, -1, C)


def _scatter_sum(src: Tensor, ix: _Index, out: Tensor | None = None) -> Tensor:
    """Sum of ``src`` ``[M, E, C]`` into ``[M, N, C]`` at the nodes of ``ix``.

    The same additions in the same order as ``scatter(..., reduce="sum")`` over dim 1.
    ``out`` ``[M * N, C]`` (optional, large case) is zeroed and filled.
    """
    M, C = src.size(0), src.size(-1)
    if ix.rows is None:
        return src.new_zeros(M, ix.size, C).index_add_(1, ix.nodes, src)
    out = src.new_zeros(M * ix.size, C) if out is None else out.zero_()
    return out.index_add_(0, ix.rows, src.reshape(-1, C)).view(M, ix.size, C)


def _scatter_max(src: Tensor, ix: _Index) -> Tensor:
    """Largest ``src`` ``[M, E, C]`` per node of ``ix``, ``[M, N, C]`` (0 where none; as PyG)."""
    M, C = src.size(0), src.size(-1)
    if ix.rows is None:
        index = ix.nodes.view(1, -1, 1).expand(M, -1, C)
        return src.new_zeros(M, ix.size, C).scatter_reduce_(
            1, index, src, reduce="amax", include_self=False)
    index = ix.rows.view(-1, 1).expand(-1, C)
    return src.new_zeros(M * ix.size, C).scatter_reduce_(
        0, index, src.reshape(-1, C), reduce="amax", include_self=False).view(M, ix.size, C)


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
