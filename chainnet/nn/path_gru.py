r"""A GRU run along every service path (branch) at once."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

__all__ = ["PathGRU", "PathPacking", "pack_paths"]


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


class PathGRU(nn.Module):
    r"""Run a GRU along each path, all paths in one packed call.

    Path :math:`p` visits its fragments :math:`f_{p,0}, \dots, f_{p,L_p-1}` in order:

    .. math::
        \mathbf h_{p,0} = \mathbf h_p, \qquad
        \mathbf h_{p,t+1} = \mathrm{GRU}(\mathbf x_{f_{p,t}}, \mathbf h_{p,t}),
        \qquad \mathbf o_{f_{p,t}} = \mathbf h_{p,t+1}

    The fragment inputs are permuted into a time-major packed sequence
    (:class:`~torch.nn.utils.rnn.PackedSequence`, planned by :func:`pack_paths`): step
    :math:`t` holds only the paths longer than :math:`t`, so no step is spent on padding (a
    padded ``[P, L_max, C]`` batch wastes a third of its steps on ``chainnet_like`` graphs).
    The loop over steps runs inside :class:`torch.nn.GRU`, never over graphs. A graph with an
    empty path, or ``packed=False``, takes the padded route, which gives the same outputs.

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
        seq = PackedSequence(x.index_select(0, packing.fragment_of_row), packing.batch_sizes)
        out, h_n = self.gru(seq, h0.index_select(0, packing.sorted_paths).unsqueeze(0))
        frag_out = out.data.index_select(0, packing.row_of_fragment)
        return frag_out, h_n[0].index_select(0, packing.rank)

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
