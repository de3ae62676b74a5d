r"""Consecutive fragments on one device: one longer visit that behaves like processor sharing.

When a request finishes fragment ``i`` on device ``d`` and fragment ``i + 1`` runs on ``d`` too
(no transfer in between), it leaves and re-joins ``d``'s FCFS queue at the same instant. It frees
its own place as it re-joins, so the re-entry is **never dropped**: only the first arrival of a
run of consecutive visits can be lost, and the number present at ``d`` changes only when a
request enters the run or leaves it. Counting visits as independent arrivals (the textbook
decomposition) charges the loss once per visit: three fragments of a resnet on one saturated
Raspberry Pi then lose 84% of the requests where the simulation loses 67%.

So a run is one job whose service time is the sum of its fragments' times. The re-entries go to
the back of the queue, so the run is served in rounds like round-robin; as the pieces get
smaller the station approaches processor sharing, whose M/G/1/K number present is that of
M/M/1/K whatever the law of the job (insensitivity). The run's effective squared coefficient of
variation interpolates between the service's own SCV ``s`` and 1:

.. math::
    s_{run} = s + (1 - s)\,q, \qquad q = 1 - \frac{\sum_i m_i^2}{(\sum_i m_i)^2}

with the fragments' mean times :math:`m_i`: a single fragment gives :math:`q = 0` (FCFS, SCV
``s``), ``n`` equal fragments :math:`q = 1 - 1/n`. Deterministic fragments on one M/D/1/4
station at load 0.8 (simulated with 100,000 requests): loss 0.0596 / 0.0857 / 0.0966 for one,
two and three fragments; this rule with the exact M/G/1/K chain gives 0.0588 / 0.0935 /
0.1036, and mean latencies within 1.2%.
"""

from __future__ import annotations

import numpy as np

__all__ = ["run_scv"]


def run_scv(scv: np.ndarray, total: np.ndarray, sum_sq: np.ndarray) -> np.ndarray:
    """Effective SCV of runs of consecutive visits to one device (module docstring).

    Args:
        scv: The service's SCV of one fragment's time, per run (>= 0).
        total: Sum of the run's mean fragment times (s), per run.
        sum_sq: Sum of the squared mean fragment times (s^2), per run (``total**2`` for a run
            of one fragment, which keeps ``scv``).

    Returns:
        The run's SCV, float64 array of the broadcast shape.
    """
    scv = np.asarray(scv, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(total > 0, 1.0 - np.asarray(sum_sq, dtype=np.float64)
                     / np.where(total > 0, total, 1.0) ** 2, 0.0)
    return scv + (1.0 - scv) * np.clip(q, 0.0, 1.0)
