"""Queueing formulas: the one home of every queueing formula of the project.

- :mod:`chainnet.queueing.station`: closed-form and numerically exact single-station
  formulas with validated inputs (:func:`mm1k`, :func:`mmck`, :func:`mg1k_exact`,
  :func:`mg1k_loss_mgs`, :func:`gg1k_loss_two_moment`, :func:`mixture_moments`,
  :func:`arrival_pmf`).
- :mod:`chainnet.queueing.batched`: vectorised kernels over many stations for the analytic
  predictor, the graph features and the placer's latency estimate (:func:`mg1_wait`,
  :func:`mm1k_wait_ratio`, :func:`arrival_pmf_matrix`, :func:`mg1k_chains`,
  :func:`mmck_batch`, :func:`mgck_correction`, and the cap :data:`WAIT_CAP`).
- :mod:`chainnet.queueing.bulk`: the branches of a fork-join request that start on one
  device as one batch arrival, M^X/G/1/K with partial admission
  (:func:`bulk_arrival_pmf_matrix`, :func:`mxg1k_chains`).
- :mod:`chainnet.queueing.reentry`: consecutive fragments on one device as one job of the
  queue (:func:`run_scv`).

Every name is importable from ``chainnet.queueing``.
"""

from chainnet.queueing import batched, bulk, reentry, station
from chainnet.queueing.batched import (  # noqa: F401 (exported through batched.__all__)
    WAIT_CAP,
    arrival_pmf_matrix,
    mg1_wait,
    mg1k_chains,
    mgck_correction,
    mm1k_wait_ratio,
    mmck_batch,
)
from chainnet.queueing.bulk import (  # noqa: F401 (exported through bulk.__all__)
    bulk_arrival_pmf_matrix,
    mxg1k_chains,
)
from chainnet.queueing.reentry import run_scv  # noqa: F401 (exported through reentry.__all__)
from chainnet.queueing.station import (  # noqa: F401 (exported through station.__all__)
    QueueResult,
    ServiceKind,
    arrival_pmf,
    gg1k_loss_two_moment,
    mg1k_exact,
    mg1k_loss_mgs,
    mixture_moments,
    mm1k,
    mmck,
)

# Each submodule lists its public names once; they are imported above for static tools.
__all__ = [*station.__all__, *batched.__all__, *bulk.__all__, *reentry.__all__]
