r"""A gated update of a node from the mean of its neighbours (used for links)."""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.typing import Adj

__all__ = ["MeanGRUUpdate"]


class MeanGRUUpdate(MessagePassing):
    r"""Update destination states with a GRU cell fed by the mean of source states.

    .. math::
        \mathbf m_i = \frac{1}{|\mathcal N(i)|}\sum_{j \in \mathcal N(i)} \mathbf W \mathbf x_j,
        \qquad \mathbf h_i' = \mathrm{GRUCell}(\mathbf m_i, \mathbf h_i)

    A node without neighbours gets :math:`\mathbf m_i = 0`.

    Args:
        src_channels: Size of source states.
        dst_channels: Size of destination states.

    Shapes:
        - **input:** ``x_src`` ``[N_s, src_channels]``, ``h_dst`` ``[N_d, dst_channels]``,
          ``edge_index`` ``[2, E]`` (source -> destination)
        - **output:** ``[N_d, dst_channels]``
    """

    def __init__(self, src_channels: int, dst_channels: int) -> None:
        super().__init__(aggr="mean")
        self.src_channels = src_channels
        self.dst_channels = dst_channels
        self.W = nn.Linear(src_channels, dst_channels)
        self.cell = nn.GRUCell(dst_channels, dst_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise the projection and the cell."""
        self.W.reset_parameters()
        self.cell.reset_parameters()

    def forward(self, x_src: Tensor, h_dst: Tensor, edge_index: Adj) -> Tensor:
        """Return the updated destination states."""
        m = self.propagate(edge_index, x=(self.W(x_src), h_dst),
                           size=(x_src.size(0), h_dst.size(0)))
        return self.cell(m, h_dst)

    def message(self, x_j: Tensor) -> Tensor:
        """Pass the projected source state."""
        return x_j

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.src_channels}, {self.dst_channels})"
