"""Baselines with the Placer interface, and the analytical algorithms ORRIC, QPART and INFIDA.

Two kinds of baseline live here, and only the first kind places anything:

- **Placers** (:mod:`placement.baselines.classic`: random, round-robin, greedy, Neurosurgeon,
  ILP). Each has ``place(PlacementRequest) -> Decision``, the contract of
  :class:`placement.Placer`, and assembles its decision with :mod:`placement.verify`, so the
  placement benchmark and the report compare them with the Placer request for request.
- **Paper algorithms** (:mod:`~placement.baselines.orric`, :mod:`~placement.baselines.qpart`,
  :mod:`~placement.baselines.infida`). These are *not* placers of this API: each solves its own
  problem in its own model (ORRIC: one device's per-slot split of compute between retraining
  and inference; QPART: one device-server partition point and per-layer bit widths; INFIDA:
  which model variants each node of an inference delivery network holds, slot by slot), with
  the paper's inputs, and takes no :class:`~placement.request.PlacementRequest`. Wrapping them
  in ``place()`` would mean inventing the half of the problem they do not model. Each has a
  bridge to the world model instead, so the simulator can judge a decision under queueing load
  that the paper's cost model ignores:

  - ORRIC: :func:`orric.orric_scenario` gives the one-device, one-service
    :class:`~datagen.world.Scenario` of an inference resolution next to the compute share
    reserved for retraining;
  - QPART: :func:`qpart.qpart_scenario` gives the two-fragment device -> server scenario of a
    :class:`~placement.baselines.qpart.QPARTDecision` (quantized weights on the device);
  - INFIDA: :func:`infida.path_delivery_problem` builds an instance on an edge path from
    :class:`~datagen.world.Device` objects, and :func:`infida.allocation_scenario` gives the
    scenario of one slot's allocation and requests.

  The report (``scripts/report_sections/analytical.py``, section (e)) scores each algorithm
  by its paper's own measure: ORRIC's objective of problem (P) against the offline optimum;
  QPART's cost and payload per partition point, with the chosen, all-server and all-device
  partitions simulated through :func:`qpart.qpart_scenario`; INFIDA's NTAG against the
  refreshed greedy allocator. ``scripts/report_sections/paper_claims.py`` re-measures each
  paper's claims on real data (:mod:`~placement.baselines.orric_drift`,
  :mod:`~placement.baselines.qpart_digits`, :mod:`~placement.baselines.infida_experiments`).
  None of them appears in the placement comparison.

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
