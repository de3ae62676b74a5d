r"""A GRU run along every service path (branch) at once."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["PathGRU"]


class PathGRU(nn.Module):
    r"""Run a GRU along each path, all paths in one padded call.

    Path :math:`p` visits its fragments :math:`f_{p,0}, \dots, f_{p,L_p-1}` in order:

    .. math::
        \mathbf h_{p,0} = \mathbf h_p, \qquad
        \mathbf h_{p,t+1} = \mathrm{GRU}(\mathbf x_{f_{p,t}}, \mathbf h_{p,t}),
        \qquad \mathbf o_{f_{p,t}} = \mathbf h_{p,t+1}

    The fragment inputs are scattered into a padded ``[P, L_max, C]`` tensor indexed by
    ``(path_batch, path_pos)``; padding only follows a path's last fragment, so it never
    changes the outputs read back at valid positions (the loop is over positions inside
    :class:`torch.nn.GRU`, never over graphs).

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
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise the GRU weights."""
        self.gru.reset_parameters()

    def forward(
        self, x: Tensor, path_batch: Tensor, path_pos: Tensor, h0: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Return the per-fragment outputs and the final state of every path."""
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
