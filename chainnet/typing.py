"""Type aliases shared by the ChainNet graph code, in the manner of ``torch_geometric.typing``."""

from __future__ import annotations

from typing import TypeAlias

from torch import Tensor

__all__ = ["NodeType", "EdgeType", "OptTensor", "TensorDict"]

#: Name of a node type of the heterograph, e.g. ``"fragment"``.
NodeType: TypeAlias = str
#: ``(source node type, relation verb, destination node type)``, named for the message direction.
EdgeType: TypeAlias = tuple[str, str, str]
#: A tensor or ``None``.
OptTensor: TypeAlias = Tensor | None
#: A mapping from a name (node type or output head) to a tensor.
TensorDict: TypeAlias = dict[str, Tensor]
