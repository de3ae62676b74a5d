r"""QPART's wireless channel: Rayleigh fading, SNR and Shannon capacity, eqs. (11)-(13)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from placement.baselines.qpart._checks import _nonneg, _pos

__all__ = ["ChannelState", "shannon_rate", "sample_channel_gain"]


class ChannelState(NamedTuple):
    """Channel quantities of eqs. (11)-(13)."""

    gain: float
    r"""Channel gain :math:`h=\zeta\beta`."""
    noise_power: float
    r"""Noise power :math:`\sigma^2=N_0B` (W)."""
    snr: float
    r"""Received SNR :math:`\gamma` (linear)."""
    snr_db: float
    """Received SNR (dB)."""
    rate: float
    """Shannon capacity :math:`R` (bit/s)."""


def shannon_rate(
    bandwidth_hz: float,
    tx_power: float,
    path_gain: float,
    small_scale: float = 1.0,
    noise_psd_dbm_hz: float = -174.0,
) -> ChannelState:
    r"""Channel gain, SNR and Shannon capacity, QPART eqs. (11)-(13) (oracle Q4).

    .. math::
        h=\zeta\beta,\qquad \gamma=\frac{P\,h}{N_0B},\qquad R=B\log_2(1+\gamma)

    Args:
        bandwidth_hz: Bandwidth :math:`B` (Hz).
        tx_power: Transmit power :math:`P` (W).
        path_gain: Large-scale gain :math:`\beta` (linear, e.g. ``1e-10`` for -100 dB).
        small_scale: Small-scale fading :math:`\zeta` (``Exp(1)`` draw; default: ``1.0``).
        noise_psd_dbm_hz: Noise spectral density :math:`N_0` (dBm/Hz) (default: ``-174``).

    Returns:
        The :class:`ChannelState`.

    Raises:
        ValueError: On a non-positive bandwidth, power or gain.
    """
    b = _pos("bandwidth_hz", bandwidth_hz)
    p = _pos("tx_power", tx_power)
    h = _pos("path_gain", path_gain) * _nonneg("small_scale", small_scale)
    noise = 10.0 ** ((noise_psd_dbm_hz - 30.0) / 10.0) * b
    snr = p * h / noise
    return ChannelState(
        h, noise, snr, 10.0 * math.log10(snr) if snr > 0 else -math.inf, b * math.log2(1.0 + snr)
    )


def sample_channel_gain(
    path_gain: float, rng: np.random.Generator, size: int | None = None
) -> float | np.ndarray:
    r"""Draw Rayleigh-fading power gains, QPART eq. (11).

    .. math::
        h=\zeta\beta,\qquad \zeta\sim\mathrm{Exp}(1)

    Args:
        path_gain: Large-scale gain :math:`\beta` (linear).
        rng: Random generator.
        size: Number of draws (default: ``None`` = one float).

    Raises:
        ValueError: On a non-positive ``path_gain``.
    """
    beta = _pos("path_gain", path_gain)
    z = rng.exponential(1.0, size=size)
    return beta * (float(z) if size is None else z)
