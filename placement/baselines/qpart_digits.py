r"""QPART on real data: accuracy vs parameter size (Fig. 6) and cost per partition (Fig. 5).

The paper (Li et al., arXiv 2506.23934; spec ``shared/specs/analytical.md`` section 2) runs a
six-layer fully connected MNIST classifier. This module trains the same shape on
scikit-learn's 8x8 digits (:mod:`placement.baselines.digits`, no download), calibrates QPART's
noise model on it (:func:`~placement.baselines.qpart.calibrate_noise`,
:func:`~placement.baselines.qpart.calibrate_budgets`) and measures:

* **Fig. 6: accuracy vs parameter size** (whole model on the device, ``p = L``), where the size
  is :math:`\sum_l w_l b_l` bits:

  - *no optimisation*: float32 weights;
  - *uniform quantisation*: every layer's weights and activations at the same ``b`` bits;
  - *QPART*: the layer-wise bits of Algorithm 1 for each calibrated accuracy level ``a``;
  - *magnitude pruning*: global L1 unstructured pruning
    (:func:`torch.nn.utils.prune.global_unstructured`) of a share of the weights, no
    fine-tuning (as QPART has none); size = surviving weights x 32 bits, the index overhead of
    a sparse format *not* counted (this favours pruning);
  - *autoencoder bottleneck*: the largest layer :math:`W` (``n_in -> n_out``) is replaced by an
    encoder ``n_in -> k`` and a decoder ``k -> n_out`` trained to reproduce that layer's output
    on the training images (a small linear autoencoder of its activation, rest frozen); size =
    float32 weights with the factorised layer.

* **Fig. 5: time, energy and server cost per partition point** ``p = 0..L`` for QPART's bits
  against no optimisation (32-bit weights and activation), with QPART's Table II parameters
  (:func:`~placement.baselines.qpart.evaluate_partition`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from placement.baselines import qpart
from placement.baselines.digits import load_digits_split, seed_states, single_thread

if TYPE_CHECKING:
    import torch

__all__ = [
    "DigitsQPARTConfig",
    "DigitsQPARTResult",
    "digits_layers",
    "run_digits_qpart",
    "partition_costs",
]


@dataclass(frozen=True)
class DigitsQPARTConfig:
    """Settings of the QPART digits experiment.

    Args:
        widths: Layer widths, input first: six linear layers on 64 pixels (default:
            ``(64, 128, 96, 64, 48, 32, 10)``).
        epochs: Training epochs (batches of 64, Adam at 1e-2) (default: ``30``).
        levels: Accuracy-drop levels ``a`` (fractions) QPART is calibrated for (default:
            ``(0.0025, 0.005, 0.01, 0.02, 0.05)``).
        uniform_bits: Bit widths of uniform quantisation (default: ``(2, 3, 4, 5, 6, 8)``).
        prune_amounts: Shares of weights pruned (default: ``(0.5, 0.7, 0.8, 0.9, 0.95)``).
        bottlenecks: Bottleneck widths ``k`` of the autoencoder (default: ``(2, 4, 8, 16)``).
        ae_steps: Adam steps of the autoencoder training (default: ``300``).
    """

    widths: tuple[int, ...] = (64, 128, 96, 64, 48, 32, 10)
    epochs: int = 30
    levels: tuple[float, ...] = (0.0025, 0.005, 0.01, 0.02, 0.05)
    uniform_bits: tuple[int, ...] = (2, 3, 4, 5, 6, 8)
    prune_amounts: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9, 0.95)
    bottlenecks: tuple[int, ...] = (2, 4, 8, 16)
    ae_steps: int = 300

    def validate(self) -> DigitsQPARTConfig:
        """Check every field; returns ``self``.

        Raises:
            ValueError: Naming the field, its value and the fix.
        """
        w = list(self.widths)
        if len(w) < 3 or w[0] != 64 or w[-1] != 10 or any(int(x) != x or x < 1 for x in w):
            raise ValueError(
                f"widths must start at 64 (pixels), end at 10 (classes) and have >= 2 layers, "
                f"got {self.widths!r}"
            )
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if not self.levels or any(not 0 < a < 1 for a in self.levels):
            raise ValueError(f"levels must be accuracy drops in (0, 1), got {self.levels!r}")
        if any(int(b) != b or not 1 <= b <= 32 for b in self.uniform_bits):
            raise ValueError(f"uniform_bits must be integers in 1..32, got {self.uniform_bits!r}")
        if any(not 0 < p < 1 for p in self.prune_amounts):
            raise ValueError(f"prune_amounts must be shares in (0, 1), got {self.prune_amounts!r}")
        if any(int(k) != k or k < 1 for k in self.bottlenecks):
            raise ValueError(f"bottlenecks must be integers >= 1, got {self.bottlenecks!r}")
        if int(self.ae_steps) != self.ae_steps or self.ae_steps < 0:
            raise ValueError(f"ae_steps must be an integer >= 0, got {self.ae_steps!r}")
        return self


class DigitsQPARTResult(NamedTuple):
    """Outcome of :func:`run_digits_qpart`."""

    size_accuracy: pd.DataFrame
    """Fig. 6 rows: ``method``, ``setting``, ``size (kbit)``, ``size / float32``,
    ``accuracy``, ``accuracy drop`` (vs the float model, percentage points / 100)."""
    partitions: pd.DataFrame
    """Fig. 5 rows (:func:`partition_costs`) at the middle level ``partition_level``."""
    float_accuracy: float
    """Test accuracy of the float32 model."""
    budgets: dict[float, float]
    """Noise budgets :math:`C(a)` calibrated for the whole model on the device (Fig. 6)."""
    partition_budgets: dict[float, float]
    """Noise budgets calibrated over every partition ``1..L`` (Fig. 5)."""
    partition_level: float
    """The accuracy level ``a`` of the Fig. 5 bits."""
    theta: np.ndarray
    r"""Calibrated sensitivities :math:`\theta_i`."""
    layers: qpart.LayerArrays
    """The network's per-layer arrays."""


def digits_layers(widths: Sequence[int]) -> qpart.LayerArrays:
    """QPART's per-layer arrays of a bias-free MLP (eq. 1: MACs = fan-in x fan-out).

    Args:
        widths: Layer widths, input first.

    Returns:
        :class:`~placement.baselines.qpart.LayerArrays` with ``a0 = widths[0]``.
    """
    w = list(widths)
    if len(w) < 2:
        raise ValueError(f"widths must list the input and >= 1 layer, got {widths!r}")
    macs = np.array([qpart.linear_macs(a, b) for a, b in zip(w[:-1], w[1:])], dtype=float)
    return qpart.LayerArrays(macs, np.array(w[1:], dtype=float), macs, a0=int(w[0]))


def partition_costs(
    layers: qpart.LayerArrays,
    bits_by_p: dict[int, np.ndarray],
    params: qpart.QPARTParams | None = None,
) -> pd.DataFrame:
    r"""Time, energy and server cost per partition point: QPART's bits vs no optimisation.

    Args:
        layers: The network.
        bits_by_p: QPART's bits for each partition point ``p`` (device layer count; ``p = 0``
            has no bits).
        params: QPART's parameters (default: Table II).

    Returns:
        One row per ``(p, method)`` with ``time (s)`` (:math:`T^{loc}+T^{tx}+T^{ser}`),
        ``energy (J)`` (:math:`E^{loc}+E^{tx}`), ``server cost`` (:math:`\mu T^{ser}`),
        ``payload (kbit)`` and ``objective J``.
    """
    rows = []
    for p in sorted(bits_by_p):
        for method, bits in (("QPART", np.asarray(bits_by_p[p], dtype=float)),
                             ("no optimisation", np.full(p, 32.0))):
            c = qpart.evaluate_partition(layers, p, bits, params)
            rows.append({"p": p, "method": method, "time (s)": c.latency,
                         "energy (J)": c.e_loc + c.e_tx, "server cost": c.cost_ser,
                         "payload (kbit)": c.payload.total / 1e3, "objective J": c.objective})
    return pd.DataFrame(rows)


def _prune_accuracy(model: torch.nn.Sequential, amount: float, x: torch.Tensor,
                    y: torch.Tensor) -> tuple[float, int]:
    import torch
    from torch.nn.utils import prune

    m = copy.deepcopy(model)
    lins = [mod for mod in m if isinstance(mod, torch.nn.Linear)]
    prune.global_unstructured([(mod, "weight") for mod in lins],
                              pruning_method=prune.L1Unstructured, amount=float(amount))
    with torch.no_grad():
        acc = float((m(x).argmax(dim=1) == y).float().mean())
    kept = int(sum(int((mod.weight != 0).sum()) for mod in lins))
    return acc, kept


def _bottleneck_accuracy(model: torch.nn.Sequential, k: int, x_train: torch.Tensor,
                         x: torch.Tensor, y: torch.Tensor, steps: int,
                         generator: torch.Generator) -> tuple[float, int]:
    """Replace the largest linear layer by a trained rank-``k`` encoder/decoder pair."""
    import torch

    mods: list[torch.nn.Module] = list(model)
    lins = {i: m for i, m in enumerate(mods) if isinstance(m, torch.nn.Linear)}
    big = max(lins, key=lambda i: lins[i].weight.numel())
    layer = lins[big]
    n_out, n_in = layer.weight.shape
    with torch.no_grad():
        h_in = torch.nn.Sequential(*mods[:big])(x_train) if big else x_train
        target = layer(h_in)
    enc = torch.nn.Linear(n_in, k, bias=False)
    dec = torch.nn.Linear(k, n_out, bias=False)
    with torch.no_grad():
        enc.weight.normal_(0.0, 1.0 / math.sqrt(n_in), generator=generator)
        dec.weight.normal_(0.0, 1.0 / math.sqrt(k), generator=generator)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-2)
    for _ in range(int(steps)):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(dec(enc(h_in)), target)
        loss.backward()
        opt.step()
    new = torch.nn.Sequential(*mods[:big], enc, dec, *mods[big + 1:]).eval()
    with torch.no_grad():
        acc = float((new(x).argmax(dim=1) == y).float().mean())
    size = sum(int(m.weight.numel()) for i, m in lins.items() if i != big) + k * (n_in + n_out)
    return acc, int(size)


def run_digits_qpart(
    config: DigitsQPARTConfig,
    seed: int,
    params: qpart.QPARTParams | None = None,
) -> DigitsQPARTResult:
    """Train, calibrate and compress the six-layer digits MLP; the Fig. 5 and Fig. 6 data.

    The data split is 70% training (also the calibration set) and 30% test; every accuracy is
    measured on the test images. Deterministic for a given seed on a given machine.

    Args:
        config: The :class:`DigitsQPARTConfig`.
        seed: Seed of the split, the weights, the shuffling and the calibration draws (>= 0).
        params: QPART's parameters for Fig. 5 (default: Table II).

    Returns:
        The :class:`DigitsQPARTResult`: the Fig. 6 size-accuracy rows, the Fig. 5 partition
        costs and the calibration behind them.

    Raises:
        ValueError: On an invalid config or seed.
    """
    import torch

    cfg = config.validate()
    ss = seed_states(seed, 4)
    layers = digits_layers(cfg.widths)
    L = layers.num_layers
    with single_thread():
        split = load_digits_split(int(ss[0]) % (2**31), fractions=(0.5, 0.2, 0.3))
        x_tr = torch.cat([split.x_train, split.x_stream]).flatten(1)
        y_tr = torch.cat([split.y_train, split.y_stream])
        x_te, y_te = split.x_test.flatten(1), split.y_test
        gen = torch.Generator().manual_seed(int(ss[1]) % (2**31))
        model = qpart.build_qpart_mlp(cfg.widths, gen)
        qpart.train_qpart_mlp(model, x_tr, y_tr, gen, epochs=int(cfg.epochs), batch_size=64,
                              lr=1e-2)
        base = qpart.quantized_accuracy(model, x_te, y_te, [])
        cal = qpart.calibrate_noise(model, x_tr, seed=int(ss[2]) % (2**31))
        levels = tuple(float(a) for a in cfg.levels)
        # Fig. 6 deploys the whole model (p = L): calibrate C(a) for that partition on a fine
        # grid; Fig. 5 needs every partition, so its budgets hold for the worst one.
        budgets = qpart.calibrate_budgets(model, x_tr, y_tr, cal.theta, layers, levels=levels,
                                          partitions=[L],
                                          grid=float(cal.theta.sum()) * np.logspace(-9, -1, 49))
        every = qpart.calibrate_budgets(model, x_tr, y_tr, cal.theta, layers, levels=levels)
        table = qpart.offline_patterns(layers, cal.theta, budgets, partitions=[L])
        table_all = qpart.offline_patterns(layers, cal.theta, every)
        full = float(layers.w.sum()) * 32.0
        rows: list[dict[str, object]] = []

        def add(method: str, setting: str, size_bits: float, acc: float) -> None:
            rows.append({"method": method, "setting": setting, "size (kbit)": size_bits / 1e3,
                         "size / float32": size_bits / full, "accuracy": acc,
                         "accuracy drop": base - acc})

        add("no optimisation", "float32", full, base)
        for b in cfg.uniform_bits:
            acc = qpart.quantized_accuracy(model, x_te, y_te, [int(b)] * L)
            add("uniform quantisation", f"{int(b)} bit", float(layers.w.sum()) * b, acc)
        for a in sorted(budgets):
            bits = table.patterns[(L, a)]
            acc = qpart.quantized_accuracy(model, x_te, y_te, bits)
            add("QPART", f"a = {a:g}", float(layers.w @ bits), acc)
        for amount in cfg.prune_amounts:
            acc, kept = _prune_accuracy(model, amount, x_te, y_te)
            add("magnitude pruning", f"{100 * amount:g}% pruned", kept * 32.0, acc)
        ae_gen = torch.Generator().manual_seed(int(ss[3]) % (2**31))
        for k in cfg.bottlenecks:
            acc, size = _bottleneck_accuracy(model, int(k), x_tr, x_te, y_te,
                                             int(cfg.ae_steps), ae_gen)
            add("autoencoder bottleneck", f"k = {int(k)}", size * 32.0, acc)
    mid = sorted(every)[len(every) // 2]
    parts = partition_costs(layers, {p: table_all.patterns[(p, mid)] for p in range(L + 1)},
                            params)
    return DigitsQPARTResult(pd.DataFrame(rows), parts, base, budgets, every, mid, cal.theta,
                             layers)
