r"""Service readout that joins the final states of a service's branches."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

__all__ = ["BranchJoin"]


class BranchJoin(nn.Module):
    r"""Join the branches of each service (fork-join readout).

    .. math::
        \mathbf s_c = \mathbf W\Big[\sum_{p \in c} \mathbf h_p \,\Big\|\,
        \max_{p \in c} \mathbf h_p\Big]

    The sum plays the role of the survival product (a request survives only if every branch
    does: log-survivals add), the max the role of the slowest branch (the join waits for the
    last branch). A layer split has one branch and both terms see the same state.

    Args:
        channels: Size of path states.
        out_channels: Size of the joined state.

    Shapes:
        - **input:** ``h_path`` ``[P, channels]``, ``path_service`` ``[P]``
        - **output:** ``[S, out_channels]``
    """

    def __init__(self, channels: int, out_channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.out_channels = out_channels
        self.W = nn.Linear(2 * channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise the projection."""
        self.W.reset_parameters()

    def forward(self, h_path: Tensor, path_service: Tensor, num_services: int) -> Tensor:
        """Return one joined state per service."""
        total = scatter(h_path, path_service, dim=0, dim_size=num_services, reduce="sum")
        worst = scatter(h_path, path_service, dim=0, dim_size=num_services, reduce="max")
        return self.W(torch.cat([total, worst], dim=-1))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels}, {self.out_channels})"
