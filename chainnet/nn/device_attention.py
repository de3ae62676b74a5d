r"""Attention of each device over the fragments it hosts."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.inits import glorot
from torch_geometric.typing import Adj, OptTensor
from torch_geometric.utils import softmax

__all__ = ["DeviceAttention"]


class DeviceAttention(MessagePassing):
    r"""GATv2-style attention from hosted fragments :math:`j` to their device :math:`i`.

    .. math::
        e_{ij} = \mathbf a^\top \operatorname{LeakyReLU}\big(\mathbf W_s \mathbf x_j
        + \mathbf W_d \mathbf x_i\big), \qquad
        \alpha_{ij} = \operatorname{softmax}_{j \in \mathcal N(i)} e_{ij}, \qquad
        \mathbf m_i = \frac{1}{H}\sum_{h=1}^{H} \sum_{j \in \mathcal N(i)} \alpha^h_{ij}\,
        \mathbf W^h_s \mathbf x_j

    The softmax is :func:`torch_geometric.utils.softmax` over the device's incoming edges. A
    device hosting nothing receives a zero message. The messages are gathered and summed
    directly (what ``propagate`` does with ``aggr="add"``, without its per-call bookkeeping).

    Args:
        fragment_channels: Size of fragment states.
        device_channels: Size of device states.
        out_channels: Size of the message per head.
        heads: Number of attention heads, averaged (default: ``1``).
        negative_slope: LeakyReLU slope (default: ``0.2``).

    Shapes:
        - **input:** ``x_fragment`` ``[F, fragment_channels]``, ``x_device``
          ``[D, device_channels]``, ``edge_index`` ``[2, E]`` (fragment -> device)
        - **output:** ``[D, out_channels]``
    """

    def __init__(
        self,
        fragment_channels: int,
        device_channels: int,
        out_channels: int,
        heads: int = 1,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__(aggr="add", node_dim=0)
        self.fragment_channels = fragment_channels
        self.device_channels = device_channels
        self.out_channels = out_channels
        self.heads = heads
        self.negative_slope = negative_slope
        self.W_s = nn.Linear(fragment_channels, heads * out_channels)
        self.W_d = nn.Linear(device_channels, heads * out_channels, bias=False)
        self.a = nn.Parameter(torch.empty(1, heads, out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise the projections and the attention vector."""
        self.W_s.reset_parameters()
        self.W_d.reset_parameters()
        glorot(self.a)

    def forward(self, x_fragment: Tensor, x_device: Tensor, edge_index: Adj) -> Tensor:
        """Aggregate hosted fragments into one message per device."""
        H, C = self.heads, self.out_channels
        x_s = self.W_s(x_fragment).view(-1, H, C)
        x_d = self.W_d(x_device).view(-1, H, C)
        num_devices = x_device.size(0)
        if not isinstance(edge_index, Tensor):  # a SparseTensor: PyG's route
            out = self.propagate(edge_index, x=(x_s, x_d),
                                 size=(x_fragment.size(0), num_devices))
            return out.mean(dim=1)
        src, dst = edge_index[0], edge_index[1]
        # propagate() by hand: its per-call bookkeeping costs more than the gathers
        msg = self.message(x_s.index_select(0, src), x_d.index_select(0, dst), dst, None,
                           num_devices)
        out = msg.new_zeros(num_devices, H, C).index_add_(0, dst, msg)
        return out.mean(dim=1)

    def message(
        self, x_j: Tensor, x_i: Tensor, index: Tensor, ptr: OptTensor, size_i: int | None
    ) -> Tensor:
        """Weight each fragment's projection by its attention coefficient."""
        e = F.leaky_relu(x_j + x_i, self.negative_slope)
        alpha = (e * self.a).sum(dim=-1)
        alpha = softmax(alpha, index, ptr, size_i)
        return x_j * alpha.unsqueeze(-1)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.fragment_channels}, {self.device_channels}, "
            f"{self.out_channels}, heads={self.heads})"
        )
