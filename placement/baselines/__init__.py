"""Baselines with the Placer interface, and the analytical algorithms ORRIC, QPART and INFIDA.

The analytical modules expose many small, generic names (``select``, ``project``, ``gain``),
so they are re-exported as modules: ``from placement.baselines import orric, qpart, infida``.
"""

from placement.baselines import infida, orric, qpart
from placement.baselines.classic import (
    ClassicPlacer,
    GreedyPlacer,
    ILPPlacer,
    NeurosurgeonPlacer,
    RandomPlacer,
    RoundRobinPlacer,
)

__all__ = [
    "ClassicPlacer",
    "GreedyPlacer",
    "ILPPlacer",
    "NeurosurgeonPlacer",
    "RandomPlacer",
    "RoundRobinPlacer",
    "infida",
    "orric",
    "qpart",
]
