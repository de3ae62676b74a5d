r"""A GRU run along every service path (branch) at once."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

__all__ = ["PathGRU", "PathPacking", "pack_paths", "gru_recurrence"]


class PathPacking(NamedTuple):
    """Where each fragment sits in the time-major packed sequence of its path.

    Paths are sorted by decreasing length (stable), so at step :math:`t` the paths still
    running are the first ``batch_sizes[t]`` of that order and the packed rows of step
    :math:`t` are contiguous.

    Attributes:
        fragment_of_row: Fragment of each packed row ``[F]`` (rows are step-major).
        row_of_fragment: Packed row of each fragment ``[F]`` (the inverse permutation).
        batch_sizes: Paths still running at each step, int64 on the CPU ``[L_max]``.
        sorted_paths: Paths by decreasing length ``[P]``.
        rank: Position of each path in ``sorted_paths`` ``[P]``.
    """

    fragment_of_row: Tensor
    row_of_fragment: Tensor
    batch_sizes: Tensor
    sorted_paths: Tensor
    rank: Tensor


def pack_paths(path_batch: Tensor, path_pos: Tensor, num_paths: int) -> PathPacking | None:
    """Plan the packed (padding-free) GRU run of the paths, vectorised.

    Args:
        path_batch: Path of each fragment ``[F]``.
        path_pos: Position of each fragment along its path, ``0..L_p - 1`` ``[F]``.
        num_paths: Number of paths :math:`P`.

    Returns:
        The :class:`PathPacking`, or ``None`` when some path has no fragment (or there is
        no fragment at all): callers then take the padded route.
    """
    num_frag = path_batch.numel()
    if num_frag == 0 or num_paths == 0:
        return None
    length = torch.bincount(path_batch, minlength=num_paths)
    if bool((length == 0).any()):
        return None
    sorted_paths = torch.sort(length, descending=True, stable=True).indices
    rank = torch.empty_like(sorted_paths)
    rank[sorted_paths] = torch.arange(num_paths, device=path_batch.device)
    max_len = int(length[sorted_paths[0]])
    steps = torch.arange(max_len, device=path_batch.device)
    batch_sizes = (length.unsqueeze(0) > steps.unsqueeze(1)).sum(dim=1)
    step_start = torch.cumsum(batch_sizes, 0) - batch_sizes
    row_of_fragment = step_start[path_pos] + rank[path_batch]
    fragment_of_row = torch.empty_like(row_of_fragment)
    fragment_of_row[row_of_fragment] = torch.arange(num_frag, device=path_batch.device)
    return PathPacking(fragment_of_row, row_of_fragment, batch_sizes.cpu(), sorted_paths, rank)


class _Permute(torch.autograd.Function):
    """``x[perm]`` for a permutation ``perm`` of the rows, with the inverse gather as backward.

    Autograd's ``index_select`` backward scatters into zeros with ``index_add_``; for a
    permutation the gradient is the gather by the inverse permutation, a third of the cost.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: Tensor, perm: Tensor, inverse: Tensor
    ) -> Tensor:
        ctx.save_for_backward(inverse)
        return x.index_select(0, perm)

    @staticmethod
    @once_differentiable
    def backward(  # type: ignore[override]
        ctx: Any, grad: Tensor
    ) -> tuple[Tensor, None, None]:
        (inverse,) = ctx.saved_tensors
        return grad.index_select(0, inverse), None, None


def _permute(x: Tensor, perm: Tensor, inverse: Tensor) -> Tensor:
    out: Tensor = _Permute.apply(x, perm, inverse)
    return out


class _GRURecurrence(torch.autograd.Function):
    """The hidden-state recurrence of a one-layer GRU over a packed sequence, one autograd node.

    Forward runs the gate math step by step; backward walks the steps back with the
    closed-form gate derivatives (fused ``tanh``/``sigmoid`` backward kernels) and one
    ``[B_t, 3H] x [3H, H]`` product per step, and forms the weight gradients with one product
    over all rows. Autograd on ATen's GRU cell records some 15 nodes per step, each with its
    own dispatch, and two weight-gradient products per step.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, gi: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, batch_sizes: list[int],
    ) -> tuple[Tensor, Tensor]:
        H = h0.size(1)
        out = gi.new_empty(gi.size(0), H)
        last = torch.empty_like(h0)
        saved = []
        h, start = h0, 0
        w_t = w_hh.t()
        for t, size in enumerate(batch_sizes):
            h = h[:size]
            g = gi[start:start + size]
            gh = torch.addmm(b_hh, h, w_t)
            rz = torch.add(g[:, : 2 * H], gh[:, : 2 * H]).sigmoid_()
            ghn = gh[:, 2 * H:]
            n = torch.addcmul(g[:, 2 * H:], ghn, rz[:, :H]).tanh_()
            # (h - n) z + n, as ATen's cell, in one kernel
            new = torch.lerp(n, h, rz[:, H:], out=out[start:start + size])
            saved.append((rz, n, ghn))
            end = batch_sizes[t + 1] if t + 1 < len(batch_sizes) else 0
            if end < size:  # paths of rank end..size-1 end at this step
                last[end:size] = new[end:size]
            h, start = new, start + size
        ctx.steps = saved
        ctx.batch_sizes = batch_sizes
        # the states before each step are h0 and rows of out: saved, so that in-place
        # changes of the outputs are caught
        ctx.save_for_backward(h0, w_hh, out)
        ctx.set_materialize_grads(False)
        return out, last

    @staticmethod
    @once_differentiable
    def backward(  # type: ignore[override]
        ctx: Any, d_out: Tensor | None, d_last: Tensor | None,
    ) -> tuple[Tensor | None, ...]:
        h0, w_hh, out = ctx.saved_tensors
        batch_sizes: list[int] = ctx.batch_sizes
        H = w_hh.size(1)
        num_rows = out.size(0)
        starts = [0]
        for size in batch_sizes[:-1]:
            starts.append(starts[-1] + size)
        # the state before step t: h0, then the first batch_sizes[t] rows of step t - 1
        h_steps = [h0] + [out[s:s + size] for s, size in zip(starts, batch_sizes[1:])]
        dh = torch.zeros_like(h0) if d_last is None else d_last.clone()
        d_gi = out.new_empty(num_rows, 3 * H)
        d_gh = out.new_empty(num_rows, 3 * H)
        tmp = out.new_empty(h0.size(0), 2 * H)
        tanh_bwd = torch.ops.aten.tanh_backward.grad_input
        sigmoid_bwd = torch.ops.aten.sigmoid_backward.grad_input
        for t in range(len(batch_sizes) - 1, -1, -1):
            size, start = batch_sizes[t], starts[t]
            rz, n, ghn = ctx.steps[t]
            rows = slice(start, start + size)
            dh_t = dh[:size]
            if d_out is not None:
                dh_t = dh_t + d_out[rows]
            gi_t, gh_t, tmp_t = d_gi[rows], d_gh[rows], tmp[:size]
            # h' = (h - n) z + n:  dn = dh' (1 - z),  dz = dh' (h - n),  dh = dh' z + ...
            dh_z = dh_t * rz[:, H:]
            d_n = tanh_bwd(torch.sub(dh_t, dh_z, out=tmp_t[:, :H]), n,
                           grad_input=gi_t[:, 2 * H:])
            torch.mul(dh_t, torch.sub(h_steps[t], n), out=tmp_t[:, H:])
            torch.mul(d_n, ghn, out=tmp_t[:, :H])
            sigmoid_bwd(tmp_t, rz, grad_input=gi_t[:, : 2 * H])
            gh_t[:, : 2 * H] = gi_t[:, : 2 * H]
            torch.mul(d_n, rz[:, :H], out=gh_t[:, 2 * H:])
            torch.addmm(dh_z, gh_t, w_hh, out=dh[:size])
        d_w = d_b = None
        if ctx.needs_input_grad[2] or ctx.needs_input_grad[3]:
            h_all = torch.cat(h_steps) if len(h_steps) > 1 else h_steps[0]
            d_w = d_gh.t().mm(h_all)
            d_b = d_gh.sum(0)
        return d_gi, dh, d_w, d_b, None


def gru_recurrence(
    gi: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, batch_sizes: list[int]
) -> tuple[Tensor, Tensor]:
    r"""Run the recurrence of a one-layer GRU over a packed sequence with given input gates.

    With :math:`\mathbf g^i_t` the input gates (:math:`\mathbf W_{ih}\mathbf x_t +
    \mathbf b_{ih}`, computed beforehand for all rows at once) and
    :math:`\mathbf g^h_t = \mathbf W_{hh}\mathbf h_{t-1} + \mathbf b_{hh}`:

    .. math::
        \mathbf r, \mathbf z = \sigma(\mathbf g^i_{rz} + \mathbf g^h_{rz}), \quad
        \mathbf n = \tanh(\mathbf g^i_n + \mathbf r \odot \mathbf g^h_n), \quad
        \mathbf h_t = (\mathbf h_{t-1} - \mathbf n) \odot \mathbf z + \mathbf n

    as :class:`torch.nn.GRU`, with one autograd node for the whole recurrence (its backward
    is written out; it does not support double backward).

    Args:
        gi: Input gates of every packed row, step-major ``[R, 3H]``.
        h0: Initial states of the sequences, longest first ``[B, H]``.
        w_hh: Hidden weights ``[3H, H]``.
        b_hh: Hidden bias ``[3H]``.
        batch_sizes: Sequences still running at each step (non-increasing, first ``B``,
            summing to ``R``).

    Returns:
        The state after every row ``[R, H]`` and the final state of every sequence ``[B, H]``.
    """
    out, last = _GRURecurrence.apply(gi, h0, w_hh, b_hh, batch_sizes)
    return out, last


class PathGRU(nn.Module):
    r"""Run a GRU along each path, all paths in one packed call.

    Path :math:`p` visits its fragments :math:`f_{p,0}, \dots, f_{p,L_p-1}` in order:

    .. math::
        \mathbf h_{p,0} = \mathbf h_p, \qquad
        \mathbf h_{p,t+1} = \mathrm{GRU}(\mathbf x_{f_{p,t}}, \mathbf h_{p,t}),
        \qquad \mathbf o_{f_{p,t}} = \mathbf h_{p,t+1}

    The fragment inputs are permuted into a time-major packed sequence (the layout of a
    :class:`~torch.nn.utils.rnn.PackedSequence`, planned by :func:`pack_paths`): step
    :math:`t` holds only the paths longer than :math:`t`, so no step is spent on padding (a
    padded ``[P, L_max, C]`` batch wastes a third of its steps on ``chainnet_like`` graphs).
    The input gates of all rows are one product; the recurrence over steps (never over
    graphs) is :func:`gru_recurrence`, with the weights of :attr:`gru` (a
    :class:`torch.nn.GRU`, whose math it reproduces). A graph with an empty path, or
    ``packed=False``, takes the padded route through :attr:`gru`, which gives the same
    outputs.

    Args:
        in_channels: Size of each fragment input.
        hidden_channels: Size of the path state.

    Shapes:
        - **input:** ``x`` ``[F, in_channels]``, ``path_batch`` ``[F]``, ``path_pos`` ``[F]``,
          ``h0`` ``[P, hidden_channels]``
        - **output:** per-fragment states ``[F, hidden_channels]`` and the final state of
          each path ``[P, hidden_channels]``
    """

    def __init__(self, in_channels: int, hidden_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.gru = nn.GRU(in_channels, hidden_channels, batch_first=True)
        #: Use the packed route (``False``: the padded reference, kept for benchmarks).
        self.packed = True
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise the GRU weights."""
        self.gru.reset_parameters()

    def forward(
        self, x: Tensor, path_batch: Tensor, path_pos: Tensor, h0: Tensor,
        packing: PathPacking | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Return the per-fragment outputs and the final state of every path.

        Args:
            x: Fragment inputs ``[F, in_channels]``.
            path_batch: Path of each fragment ``[F]``.
            path_pos: Position along the path ``[F]``.
            h0: Initial path states ``[P, hidden_channels]``.
            packing: A plan of :func:`pack_paths` for these paths, computed once and reused
                across calls on the same graph (default: ``None`` = plan here).
        """
        if self.packed:
            if packing is None:
                packing = pack_paths(path_batch, path_pos, h0.size(0))
            if packing is not None:
                return self.forward_packed(x, h0, packing)
        return self._forward_padded(x, path_batch, path_pos, h0)

    def forward_packed(self, x: Tensor, h0: Tensor, packing: PathPacking) -> tuple[Tensor, Tensor]:
        """The packed route with a ready plan (see :meth:`forward`)."""
        w_ih, w_hh, b_ih, b_hh = self.gru.all_weights[0]
        rows, frags = packing.fragment_of_row, packing.row_of_fragment
        # the input gates of every row in one product; the recurrence adds the hidden ones
        gi = F.linear(_permute(x, rows, frags), w_ih, b_ih)
        out, last = gru_recurrence(gi, _permute(h0, packing.sorted_paths, packing.rank), w_hh,
                                   b_hh, packing.batch_sizes.tolist())
        return _permute(out, frags, rows), _permute(last, packing.rank, packing.sorted_paths)

    def _forward_padded(
        self, x: Tensor, path_batch: Tensor, path_pos: Tensor, h0: Tensor
    ) -> tuple[Tensor, Tensor]:
        num_paths = h0.size(0)
        max_len = int(path_pos.max()) + 1 if path_pos.numel() > 0 else 1
        dense = x.new_zeros(num_paths, max_len, x.size(-1))
        dense[path_batch, path_pos] = x
        out, _ = self.gru(dense, h0.unsqueeze(0).contiguous())
        frag_out = out[path_batch, path_pos]
        length = torch.zeros(num_paths, dtype=torch.long, device=x.device)
        length = length.scatter_reduce(0, path_batch, path_pos + 1, reduce="amax")
        last = out[torch.arange(num_paths, device=x.device), (length - 1).clamp_min(0)]
        return frag_out, last

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels})"
