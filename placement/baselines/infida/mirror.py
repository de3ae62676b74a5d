r"""INFIDA's online mirror ascent: starting point, Bregman projection and step (spec 3.4-3.5)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from placement.baselines.infida.network import (
    Allocation,
    InferenceNetwork,
    ProjectionMode,
    _finite,
)

__all__ = ["initial_allocation", "project", "mirror_step"]


def initial_allocation(net: InferenceNetwork) -> dict[str, np.ndarray]:
    r"""INFIDA's starting point, the mirror map's minimiser on :math:`\mathcal Y^v` (spec 3.4).

    .. math::
        y^v_{1,m}=\frac{\min(b^v,\lVert s^v_F\rVert_1)}{\lVert s^v_F\rVert_1}\,
        \mathbb 1\{m\in F^v\},\qquad F^v=\{m:s^v_m\le b^v\}

    Models larger than the node's budget (outside :math:`F^v`, see
    :meth:`InferenceNetwork.fits`) start, and stay, at zero.

    Args:
        net: The network.

    Returns:
        Node -> fractional allocation, shape ``(M,)`` each.
    """
    out = {}
    for v in net.nodes:
        fit = net.fits(v)
        out[v] = np.where(fit, net.effective_budget(v) / float(net.sizes[v][fit].sum()), 0.0)
    return out


def project(
    h: Sequence[float] | np.ndarray,
    s: Sequence[float] | np.ndarray,
    b: float,
    *,
    inequality: bool = False,
) -> np.ndarray:
    r"""Bregman projection onto the weighted capped simplex, INFIDA spec 3.5 [D].

    Solves :math:`\min_{\mathbf y}\sum_ms_m(y_m\ln\frac{y_m}{h_m}-y_m+h_m)` s.t.
    :math:`0\le y\le1`, :math:`\sum_ms_my_m=b`. KKT gives

    .. math::
        y_m=\min\{1,\beta h_m\}

    with one scalar :math:`\beta>0`, found after sorting :math:`h` (:math:`O(n\log n)`). With
    ``inequality=True`` the constraint is :math:`\sum s_my_m\le b` and :math:`\min(1,h)` is
    returned when it fits. If :math:`b\ge\lVert s\rVert_1` the answer is all ones.

    Args:
        h: Point to project, :math:`h_m\ge0` with at least one positive entry.
        s: Sizes :math:`s_m>0`.
        b: Budget :math:`b>0`.
        inequality: Use the inequality-constrained set (default: ``False``).

    Returns:
        The projection, shape ``(n,)``.

    Raises:
        ValueError: On mismatched lengths, negative or non-finite ``h``, non-positive sizes
            or budget.
    """
    ha = np.asarray(h, dtype=float)
    sa = np.asarray(s, dtype=float)
    if ha.shape != sa.shape or ha.ndim != 1 or len(ha) == 0:
        raise ValueError(f"h and s must be 1-D of equal length, got {ha.shape} and {sa.shape}")
    if not np.all(np.isfinite(ha)) or np.any(ha < 0):
        raise ValueError(f"h must be finite and >= 0, got {ha.tolist()}")
    if not np.all(np.isfinite(sa)) or np.any(sa <= 0):
        raise ValueError(f"s must be finite and > 0, got {sa.tolist()}")
    bb = _finite("b", b)
    if bb <= 0:
        raise ValueError(f"b must be > 0, got {b!r}")
    if bb >= sa.sum():
        return np.ones_like(ha)
    if inequality:
        y0 = np.minimum(1.0, ha)
        if float(sa @ y0) <= bb:
            return y0
    # the divergence is only defined on h > 0; a zero coordinate gets the smallest weight
    hp = np.maximum(ha, np.finfo(float).tiny * max(1.0, float(ha.max())))
    order = np.argsort(-hp, kind="stable")
    hs, ss = hp[order], sa[order]
    tail = np.cumsum((ss * hs)[::-1])[::-1]  # sum_{j>=k} s_j h_j
    head = np.concatenate(([0.0], np.cumsum(ss)))  # sum_{j<k} s_j
    ys = None
    for k in range(len(hs)):
        beta = (bb - head[k]) / tail[k]
        # ties (beta * h_k == 1) make k and k + 1 both valid; the tolerance accepts either
        if beta * hs[k] <= 1.0 + 1e-12 and (k == 0 or beta * hs[k - 1] >= 1.0 - 1e-12):
            ys = np.minimum(1.0, beta * hs)
            ys[:k] = 1.0
            break
    if ys is None:  # round-off defeated the scan: solve sum s min(1, beta h) = b by bisection
        lo, hi = 0.0, 1.0 / hs[-1]
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if float(ss @ np.minimum(1.0, mid * hs)) < bb else (lo, mid)
        ys = np.minimum(1.0, hi * hs)
    y = np.empty_like(ys)
    y[order] = ys
    return y


def mirror_step(
    y: Allocation,
    g: Allocation,
    net: InferenceNetwork,
    eta: float,
    projection: ProjectionMode = "equality",
) -> dict[str, np.ndarray]:
    r"""One INFIDA mirror-ascent step at every node, spec 3.4 [S structure, R mirror map].

    Mirror map :math:`\Phi^v(\mathbf y)=\sum_ms^v_my_m\ln y_m`, so the dual step and the
    Bregman projection are

    .. math::
        h^v_m=y^v_m\exp(\eta\,g^v_m/s^v_m),\qquad \mathbf y^v\leftarrow
        \mathrm{PROJECT}(\mathbf h^v,\mathbf s^v,\min(b^v,\lVert s^v\rVert_1))

    over the models that fit the node (:meth:`InferenceNetwork.fits`); a model larger than
    :math:`b^v` keeps :math:`y^v_m=0`, so no fractional mass ever sits where no integral
    allocation can go.

    The equality projection is scale-free, so :math:`\ln h` is shifted by its maximum first to
    avoid overflow.

    Args:
        y: Current fractional allocation.
        g: Subgradient (:func:`subgradient`).
        net: The network.
        eta: Step size :math:`\eta>0`.
        projection: ``"equality"`` or ``"inequality"`` (default: ``"equality"``).

    Returns:
        The next fractional allocation.

    Raises:
        ValueError: On a non-positive ``eta`` or an unknown projection.
    """
    if _finite("eta", eta) <= 0 or math.isinf(eta):
        raise ValueError(f"eta must be finite and > 0, got {eta!r}")
    if projection not in ("equality", "inequality"):
        raise ValueError(f"projection must be 'equality' or 'inequality', got {projection!r}")
    ya = net.check_allocation(y, "y")
    out = {}
    for v in net.nodes:
        fit = net.fits(v)  # models larger than the budget keep y = 0 (never allocable)
        s = net.sizes[v][fit]
        with np.errstate(divide="ignore"):
            log_h = np.log(ya[v][fit]) + eta * np.asarray(g[v], dtype=float)[fit] / s
        if projection == "equality":
            log_h -= np.max(log_h)
        h = np.exp(log_h)
        yv = np.zeros(len(net.models))
        yv[fit] = project(h, s, net.effective_budget(v), inequality=projection == "inequality")
        out[v] = yv
    return out
