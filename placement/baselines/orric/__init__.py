r"""ORRIC: online resource allocation with colocated retraining and inference.

Cai, Zhou, Huang, "Online Resource Allocation for Edge Intelligence with Colocated Model
Retraining and Inference" (arXiv 2405.16029); specification and oracles in
``shared/specs/analytical.md`` section 1.

In every slot ``t`` an edge device with compute budget :math:`C_{(t)}` (MAC) serves
:math:`D_{(t)}` samples and picks one retraining configuration ``i`` (accuracy
:math:`A^T_i`, cost :math:`C^T_i` MAC per sample) and one inference configuration ``j``
(:math:`A^I_j`, :math:`C^I_j`). The offline problem (P) is

.. math::
    \max_{x,y}\ \sum_{t=1}^T f(\bar x_t)\,A^I_{j_t}\,D_{(t)},\qquad
    \bar x_t = \frac{\sum_{\tau<t} D_{(\tau)} A^T_{i_\tau}}{\sum_{\tau<t} D_{(\tau)}},\qquad
    C^T_{i_t} + C^I_{j_t} \le U_t = C_{(t)}/D_{(t)},

with :math:`\bar x_1 := 0` by default (the model starts at :math:`f(0)`; a parameter). ORRIC
solves the per-slot relaxation (Dt), :math:`\max V_t A^T_i + W_t A^I_j` under the slot budget,
with the coefficients of :func:`coefficients`, by pruning dominated configurations
(:func:`prune`) and a two-pointer sweep (:func:`select`), in :math:`O(M+N)` per slot after
sorting.

Decisions on the spec's open points (section 5): the ``t = 1`` convention is the parameter
``x1`` (default ``0``); the per-sample retraining MACs are inputs; the competitive-ratio
formulas are not implemented, only Corollary 1's condition (:func:`corollary1_condition`),
with ``alpha`` an input.

One concept per module (every public name is re-exported here):

* :mod:`~placement.baselines.orric.instance`: the lists, their validation and :class:`OrricRun`.
* :mod:`~placement.baselines.orric.slot`: the per-slot problem (Dt) and its coefficients.
* :mod:`~placement.baselines.orric.horizon`: the objective of (P), the policies and the optimum.
* :mod:`~placement.baselines.orric.bridge`: the retraining share and a world-model scenario.
"""

from __future__ import annotations

from placement.baselines.orric.bridge import orric_scenario, retraining_share
from placement.baselines.orric.horizon import (
    brute_force_opt,
    corollary1_condition,
    decide,
    objective,
    run,
)
from placement.baselines.orric.instance import POLICIES, Floats, OrricRun, Policy
from placement.baselines.orric.slot import coefficients, focus_shift_coefficients, prune, select

__all__ = [
    "Floats",
    "Policy",
    "POLICIES",
    "OrricRun",
    "prune",
    "select",
    "coefficients",
    "objective",
    "run",
    "decide",
    "focus_shift_coefficients",
    "brute_force_opt",
    "corollary1_condition",
    "retraining_share",
    "orric_scenario",
]
