r"""QPART's network description and its device, server, channel and objective parameters.

Conventions decided here (spec ``shared/specs/analytical.md`` section 2, open points):

* **Partition index base.** ``p`` is the number of layers on the device: layers ``1..p`` run on
  the device and ``p+1..L`` on the server (``convention="through_p"``, the spec's choice).
* **Unknown constants.** :math:`\kappa_d=10^{-27}`, :math:`\mu=1`, :math:`\omega_C=1` and the
  6-FC widths 784-512-256-128-64-32-10 (oracle Q3's assumptions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from placement.baselines.qpart._checks import _arr, _nonneg, _pos

__all__ = ["ALPHA", "QPART_MLP_WIDTHS", "Convention", "LayerArrays", "QPARTParams"]

#: Noise decay per bit, :math:`\alpha=\ln 4` (uniform quantization, spec 2.3 item 1).
ALPHA: float = math.log(4.0)

#: Layer widths of the 6-FC MNIST network assumed for QPART's simulation (spec Q3) [A].
QPART_MLP_WIDTHS: tuple[int, ...] = (784, 512, 256, 128, 64, 32, 10)

Convention = Literal["through_p", "before_p"]


@dataclass(frozen=True)
class LayerArrays:
    """Per-layer sizes of a network, as QPART sees it.

    Args:
        w: Weight parameters :math:`w_l` of layers ``1..L`` (count).
        a: Output activation elements :math:`a_l` of layers ``1..L`` (count).
        o: MACs :math:`o_l` of layers ``1..L`` (MAC).
        a0: Input elements :math:`a_0` (count) (default: ``0``).
        weight_bytes_per_elem: Bytes per unquantized weight/activation element on the server
            (default: ``4``, float32).

    Raises:
        ValueError: If the arrays are empty, negative or of different lengths.
    """

    w: np.ndarray
    a: np.ndarray
    o: np.ndarray
    a0: int = 0
    weight_bytes_per_elem: int = 4

    def __post_init__(self) -> None:
        w, a, o = _arr("w", self.w), _arr("a", self.a), _arr("o", self.o)
        if not (len(w) == len(a) == len(o)) or len(w) == 0:
            raise ValueError(
                f"w, a and o must be non-empty and of equal length, got lengths "
                f"{len(w)}, {len(a)}, {len(o)}"
            )
        object.__setattr__(self, "w", w)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "o", o)
        if self.a0 < 0:
            raise ValueError(f"a0 must be >= 0, got {self.a0}")

    @property
    def num_layers(self) -> int:
        """Number of layers ``L``."""
        return len(self.w)


@dataclass(frozen=True)
class QPARTParams:
    r"""Device, server, channel and objective parameters (QPART Table II defaults).

    Args:
        c_d: Device clock cycles per MAC :math:`c_d` (default: ``5``).
        f_d: Device clock :math:`f_d` (Hz) (default: ``200e6``).
        kappa_d: Device energy-efficiency parameter :math:`\kappa_d` (J/cycle/Hz^2); lost in the
            paper, assumed (default: ``1e-27``).
        c_s: Server clock cycles per MAC :math:`c_s` (default: ``1.25``).
        f_s: Server clock :math:`f_s` (Hz) (default: ``3e9``).
        mu: Server cost per second :math:`\mu` (cost/s); assumed (default: ``1.0``).
        tx_power: Device transmit power :math:`P` (W) (default: ``1.0``).
        rate: Channel capacity :math:`R` (bit/s) (default: ``200e6``).
        w_time: Time weight :math:`\omega_T` (default: ``1.0``).
        w_energy: Energy weight :math:`\omega_E` (default: ``1.0``).
        w_cost: Server-cost weight :math:`\omega_C`; assumed (default: ``1.0``).
        tx_energy: ``"total"`` (weights downlink + activation uplink, :math:`E^{tx}=PT^{tx}`)
            or ``"uplink"`` (activation only) (default: ``"total"``).

    Raises:
        ValueError: On a non-positive clock, cycle count or rate, negative weights, or an
            unknown ``tx_energy``.
    """

    c_d: float = 5.0
    f_d: float = 200e6
    kappa_d: float = 1e-27
    c_s: float = 1.25
    f_s: float = 3e9
    mu: float = 1.0
    tx_power: float = 1.0
    rate: float = 200e6
    w_time: float = 1.0
    w_energy: float = 1.0
    w_cost: float = 1.0
    tx_energy: Literal["total", "uplink"] = "total"

    def __post_init__(self) -> None:
        for name in ("c_d", "f_d", "c_s", "f_s", "rate"):
            _pos(name, getattr(self, name))
        for name in ("kappa_d", "mu", "tx_power", "w_time", "w_energy", "w_cost"):
            _nonneg(name, getattr(self, name))
        if self.tx_energy not in ("total", "uplink"):
            raise ValueError(f"tx_energy must be 'total' or 'uplink', got {self.tx_energy!r}")
