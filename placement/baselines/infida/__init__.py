r"""INFIDA: online model allocation in an inference delivery network.

Implements the serving cost and allocation gain (both forms), the subgradient, per-node online
mirror ascent with the weighted negative-entropy mirror map, the Bregman projection onto the
weighted capped simplex, size-weighted DepRound, the cost-benefit greedy baseline with a
refresh period, the NTAG and model-update metrics, the regret-optimal step size, and a bridge
from a per-slot allocation on an edge path to a :class:`~datagen.Scenario`, so the simulator can
judge it under queueing load. Everything follows ``specs/analytical.md`` section 3.

Source: Si Salem, Castellano, Neglia, Pianese, Araldo, "Towards Inference Delivery Networks:
Distributing Machine Learning with Optimality Guarantees", arXiv 2105.02510 (IEEE/ACM ToN 2023).
DepRound: Gandhi et al., JACM 2006; Uchiya et al., ALT 2010.

One concept per module (every public name is re-exported here): :mod:`.network` (nodes,
request types, budgets), :mod:`.gain` (cost, gain, subgradient), :mod:`.mirror` (mirror step and
Bregman projection), :mod:`.rounding` (DepRound), :mod:`.policies` (INFIDA, greedy, optimum),
:mod:`.metrics` (NTAG, model updates), :mod:`.regret` (step size, bound) and :mod:`.bridge`
(edge-path instances and their :class:`~datagen.Scenario`).

Open points of spec section 5 decided here (each a parameter where it matters):

* **Feasible set.** A model larger than a node's budget is never allocated there, fractional
  mass included: :math:`y^v_m=0` whenever :math:`s^v_m>b^v`
  (:meth:`InferenceNetwork.fits`). Over the models that fit, ``projection="equality"``
  (default): :math:`\sum_ms_my_m=\min(b,\lVert s_F\rVert_1)` (budget saturated, matches the
  regret bound); ``"inequality"`` returns :math:`\min(1,h)` when it already fits.
* **DepRound with unequal sizes.** ``budget="strict"`` (default): the coordinate left
  fractional after the pairwise steps is drawn only if it still fits, so every physical
  allocation respects the node budget (that coordinate's marginal is biased down);
  ``"expected"`` keeps the textbook Bernoulli draw (exact marginals, the budget can be exceeded
  by less than :math:`s_{\max}`), for the spec's O8 oracle only.
* **Greedy baseline.** Cost-benefit greedy (largest :math:`\Delta G/s^v_m` first) refreshed every
  ``refresh`` slots from the requests of the previous period (their summed gain), starting
  from the repository-only allocation :math:`\boldsymbol\omega`.
* **NTAG.** :math:`\sum_tG_t/\sum_t\lVert\mathbf r_t\rVert_1` (1-second slots).
* **Cost units.** :math:`C^v_{\mathbf p,m}=` path latency (s) :math:`+\,d^v_m` (s)
  :math:`+\,\alpha(1-A_m)` with accuracy :math:`A_m\in[0,1]`, so :math:`\alpha` is in seconds per
  unit of inaccuracy.
"""

# ruff: noqa: F401 (the imports are the re-exports; __all__ is built from the modules' lists)
from __future__ import annotations

import placement.baselines.infida.bridge as _bridge
import placement.baselines.infida.gain as _gain
import placement.baselines.infida.metrics as _metrics
import placement.baselines.infida.mirror as _mirror
import placement.baselines.infida.network as _network
import placement.baselines.infida.policies as _policies
import placement.baselines.infida.regret as _regret
import placement.baselines.infida.rounding as _rounding
from placement.baselines.infida.bridge import (
    DeliveryProblem,
    ModelVariant,
    allocation_scenario,
    path_delivery_problem,
)
from placement.baselines.infida.gain import (
    gain,
    served_amounts,
    serving_cost,
    subgradient,
)
from placement.baselines.infida.metrics import (
    model_updates,
    ntag,
)
from placement.baselines.infida.mirror import (
    initial_allocation,
    mirror_step,
    project,
)
from placement.baselines.infida.network import (
    Allocation,
    BudgetMode,
    Candidate,
    InferenceNetwork,
    ProjectionMode,
    RequestType,
)
from placement.baselines.infida.policies import (
    PolicyRun,
    best_allocation,
    greedy_allocation,
    run_greedy,
    run_infida,
)
from placement.baselines.infida.regret import (
    optimal_step_size,
    regret_bound,
)
from placement.baselines.infida.rounding import (
    depround,
)

# One list per module: each module's ``__all__`` names its public names, all re-exported here.
# (The modules are bound as ``_gain`` etc.: the function ``gain`` takes the name ``gain``.)
__all__ = (
    _network.__all__
    + _gain.__all__
    + _mirror.__all__
    + _rounding.__all__
    + _policies.__all__
    + _metrics.__all__
    + _regret.__all__
    + _bridge.__all__
)
