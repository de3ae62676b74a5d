r"""QPART's noise calibration on a real torch model, eqs. (18)-(22) (spec 2.3).

The only QPART module that needs torch; torch is imported inside each function, so importing
:mod:`placement.baselines.qpart` stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from placement.baselines.qpart._checks import _arr
from placement.baselines.qpart.bits import round_bits, sequential_bits
from placement.baselines.qpart.cost import payload_weights
from placement.baselines.qpart.params import ALPHA, QPART_MLP_WIDTHS, LayerArrays
from placement.baselines.qpart.quantization import quantization_grid

if TYPE_CHECKING:
    import torch

__all__ = [
    "NoiseCalibration",
    "build_qpart_mlp",
    "synthetic_dataset",
    "train_qpart_mlp",
    "calibrate_noise",
    "logit_noise_energy",
    "quantized_accuracy",
    "calibrate_budgets",
]


def _quantize_torch(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Torch twin of :func:`quantize` with the tensor's own range (eq. 10)."""
    import torch

    g = quantization_grid(float(x.min()), float(x.max()), bits)
    k = torch.clamp(torch.round(x / g.delta) + g.zero_point, 0, g.levels - 1)
    return g.delta * (k - g.zero_point)


def build_qpart_mlp(
    widths: Sequence[int] = QPART_MLP_WIDTHS, generator: torch.Generator | None = None
) -> torch.nn.Sequential:
    """The 6-FC network (no bias, ReLU between layers) as a ``torch.nn.Sequential``.

    Args:
        widths: Layer widths, input first (default: 784-512-256-128-64-32-10).
        generator: Seeded generator for the initial weights (default: ``None`` = torch's).

    Returns:
        ``Sequential(Linear, ReLU, ..., Linear)``; the last layer outputs logits.
    """
    import torch

    mods: list[torch.nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        lin = torch.nn.Linear(n_in, n_out, bias=False)
        bound = 1.0 / math.sqrt(n_in) * math.sqrt(3.0)
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound, generator=generator)
        mods.append(lin)
        if i < len(widths) - 2:
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


def synthetic_dataset(
    n: int,
    generator: torch.Generator,
    *,
    num_features: int = 784,
    num_classes: int = 10,
    separation: float = 0.12,
    means: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A Gaussian-mixture stand-in for MNIST (no downloads).

    .. math::
        x = \mu_y + \varepsilon,\qquad \mu_c\sim\mathcal N(0,s^2I),\
        \varepsilon\sim\mathcal N(0,I),\ y\sim\mathcal U\{0..K-1\}

    Args:
        n: Number of samples.
        generator: Seeded torch generator.
        num_features: Input size (default: ``784``).
        num_classes: Classes (default: ``10``).
        separation: Per-coordinate scale :math:`s` of the class means (default: ``0.12``:
            overlapping classes, so a trained model sits well below 100% accuracy).
        means: Class means to reuse (e.g. for a test split) (default: draw new ones).

    Returns:
        ``(x, y, means)`` with shapes ``(n, num_features)``, ``(n,)``, ``(num_classes,
        num_features)``.
    """
    import torch

    if means is None:
        means = separation * torch.randn(num_classes, num_features, generator=generator)
    y = torch.randint(0, num_classes, (n,), generator=generator)
    x = means[y] + torch.randn(n, num_features, generator=generator)
    return x, y, means


def train_qpart_mlp(
    model: torch.nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
    *,
    epochs: int = 5,
    batch_size: int = 128,
    lr: float = 1e-3,
) -> torch.nn.Sequential:
    """Train briefly with Adam and cross-entropy (in place; returns the model in eval mode).

    Args:
        model: The network.
        x: Inputs, shape ``(n, d)``.
        y: Labels, shape ``(n,)``.
        generator: Seeded generator for the shuffling.
        epochs: Passes over the data (default: ``5``).
        batch_size: Mini-batch size (default: ``128``).
        lr: Learning rate (default: ``1e-3``).
    """
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=generator)
        for k in range(0, len(x), batch_size):
            idx = perm[k : k + batch_size]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return model.eval()


def _linears(model: torch.nn.Sequential) -> list[torch.nn.Linear]:
    import torch

    lins = [m for m in model if isinstance(m, torch.nn.Linear)]
    if not lins:
        raise ValueError("model must contain torch.nn.Linear layers")
    return lins


def _forward(
    model: torch.nn.Sequential,
    x: torch.Tensor,
    weight_bits: Mapping[int, int] | None = None,
    act_bits: Mapping[int, int] | None = None,
    dither: torch.Generator | None = None,
) -> torch.Tensor:
    """Forward pass quantizing weights and/or output activations of chosen linear layers.

    Layer ``i`` (0-based over linears) has its weight quantized at ``weight_bits[i]`` and its
    output (after the following ReLU, i.e. the transmitted activation) at ``act_bits[i]``.
    With ``dither``, each quantized weight gets an independent uniform error of the grid's
    step instead of its deterministic rounding error (:func:`_dither_torch`).
    """
    import torch

    wb, ab = weight_bits or {}, act_bits or {}
    mods = list(model)
    li = -1
    h = x
    with torch.no_grad():
        for k, m in enumerate(mods):
            if isinstance(m, torch.nn.Linear):
                li += 1
                wgt = m.weight
                if li in wb:
                    wgt = (
                        _quantize_torch(wgt, wb[li])
                        if dither is None
                        else _dither_torch(wgt, wb[li], dither)
                    )
                h = h @ wgt.T
            else:
                h = m(h)
            nxt = mods[k + 1] if k + 1 < len(mods) else None
            ends_layer = nxt is None or isinstance(nxt, torch.nn.Linear)
            if ends_layer and li in ab:
                h = _quantize_torch(h, ab[li])
    return h


def _dither_torch(x: torch.Tensor, bits: int, generator: torch.Generator) -> torch.Tensor:
    r"""``x`` plus i.i.d. :math:`\mathcal U(-\Delta/2,\Delta/2)` errors, :math:`\Delta` of eq. (9).

    This is the error model behind eq. (18): rounding errors independent of each other and of
    the weights, with variance :math:`\Delta^2/12`. One deterministic rounding is one draw of
    it; the mean over draws is the expectation the law :math:`p\,e^{-\alpha b}` describes.
    """
    import torch

    g = quantization_grid(float(x.min()), float(x.max()), bits)
    noise = torch.rand(x.shape, generator=generator, dtype=x.dtype) - 0.5
    return x + g.delta * noise


def logit_noise_energy(
    model: torch.nn.Sequential,
    x: torch.Tensor,
    layer: int,
    bits: int,
    *,
    kind: Literal["weight", "activation"] = "weight",
    dither: torch.Generator | None = None,
) -> float:
    r"""Mean squared logit perturbation :math:`\overline{\lVert r_{Z_i}\rVert^2}` of one layer.

    Quantize only layer ``layer``'s weights (``kind="weight"``) or its output activation
    (``"activation"``) at ``bits`` and average :math:`\lVert Z_q-Z\rVert^2` over the samples.

    Args:
        model: A ``Sequential`` of ``Linear`` and activation modules.
        x: Inputs, shape ``(n, d)``.
        layer: Linear layer index (0-based).
        bits: Bit width ``>= 1``.
        kind: ``"weight"`` or ``"activation"`` (default: ``"weight"``).
        dither: Seeded generator: replace the deterministic weight rounding by one draw of
            i.i.d. uniform errors of the same step (eq. 18's error model) (default: ``None``).

    Returns:
        The mean squared perturbation (squared logit units).

    Raises:
        ValueError: On a layer out of range, ``bits < 1`` or an unknown ``kind``.
    """
    n_layers = len(_linears(model))
    if isinstance(layer, bool) or int(layer) != layer or not 0 <= layer < n_layers:
        raise ValueError(f"layer must be an integer in 0..{n_layers - 1}, got {layer!r}")
    if isinstance(bits, bool) or int(bits) != bits or bits < 1:
        raise ValueError(f"bits must be an integer >= 1, got {bits!r}")
    if kind not in ("weight", "activation"):
        raise ValueError(f"kind must be 'weight' or 'activation', got {kind!r}")
    z = _forward(model, x)
    q = {int(layer): int(bits)}
    zq = (
        _forward(model, x, weight_bits=q, dither=dither)
        if kind == "weight"
        else _forward(model, x, act_bits=q)
    )
    return float(((zq - z) ** 2).sum(dim=1).mean())


class NoiseCalibration(NamedTuple):
    r"""Per-layer noise constants of eqs. (18)-(22) and :math:`\theta_i` of eq. (23)."""

    p_w: np.ndarray
    """:math:`p^W_i`: logit noise energy of weight quantization at 0 bits, eq. (18)."""
    p_a: np.ndarray
    """:math:`p^A_i`: the same for the output activation, eq. (19)."""
    t_w: np.ndarray
    """:math:`t^W_i`: robustness to weight noise, eq. (22) estimator (a)."""
    t_a: np.ndarray
    """:math:`t^A_i`: robustness to activation noise."""
    theta: np.ndarray
    r""":math:`\theta_i=p^W_i/t^W_i+p^A_i/t^A_i`."""
    widths: tuple[int, ...]
    """Reference widths :math:`b_0` used for the measurement."""


def calibrate_noise(
    model: torch.nn.Sequential,
    x: torch.Tensor,
    widths: int | Sequence[int] = (6, 8, 10),
    alpha: float = ALPHA,
    *,
    draws: int = 4,
    seed: int = 0,
) -> NoiseCalibration:
    r"""Estimate :math:`p_i` and :math:`t_i` of every layer on calibration data (spec 2.3).

    For each linear layer ``i`` and reference width :math:`b_0` in ``widths``, quantize only
    its weights (then only its output activation) at :math:`b_0` bits and measure the logit
    perturbation :math:`r_{Z_i}=Z_q-Z` per sample:

    .. math::
        p_i=\overline{\lVert r_{Z_i}\rVert^2}\,e^{\alpha b_0},\qquad
        t_i=\frac{\overline{\lVert r_{Z_i}\rVert^2}}{\overline{\langle r_{Z_i},u\rangle^2}},
        \quad u=\frac{e_j-e_k}{\sqrt2}

    where :math:`k` is the sample's top class and :math:`j` the runner-up, so :math:`u` is
    the direction of the minimal adversarial perturbation :math:`r^*` (spec 2.3 item 4) and
    :math:`t_i` is estimator (a) of eq. (22). Then :math:`m_i=p_ie^{-\alpha b_i}/t_i`. With
    several widths, :math:`p_i` is the geometric mean of the per-width estimates (a
    least-squares fit of :math:`\ln p_i` at the known slope :math:`-\alpha`); :math:`t_i`
    pools the energies over the widths.

    **Weights: the expectation, not one rounding.** All samples share one weight matrix, so
    the energy of one deterministic rounding is a single draw whose spread depends on how
    many independent directions the layer's error has (for the last layers a handful: one
    rounding can miss the expectation by 2-3x). Eq. (18) describes the expectation over
    the rounding errors, so weight energies are averaged over ``draws`` seeded draws of i.i.d.
    uniform errors of the grid's step (:func:`logit_noise_energy` with ``dither``).
    Activation errors differ per sample and average out over the calibration set, so
    activations are measured with the deterministic quantizer.

    **Validity.** The law :math:`e^{-\alpha b}` uses :math:`\Delta\propto2^{-b}` where the
    grid has :math:`\Delta\propto1/(2^b-1)`: the two differ by :math:`(2^b/(2^b-1))^2`, at
    most 7% for :math:`b\ge5` (78% at :math:`b=2`), and the first-order propagation of the
    error through the ReLUs also needs small steps. Use the calibration for
    :math:`5\le b\le16`; at fewer bits it is a rough guide only.

    Args:
        model: A ``Sequential`` of ``Linear`` and activation modules (e.g.
            :func:`build_qpart_mlp`).
        x: Calibration inputs, shape ``(n, d)``.
        widths: Reference width(s) :math:`b_0` (default: ``(6, 8, 10)``).
        alpha: Decay per bit (default: ln 4).
        draws: Error draws per weight measurement (default: ``4``).
        seed: Seed of the error draws (default: ``0``).

    Returns:
        The :class:`NoiseCalibration`.

    Raises:
        ValueError: If the model has no linear layer, a width is < 1 or ``draws`` < 1.
    """
    import torch

    ws = [int(widths)] if isinstance(widths, (int, np.integer)) else [int(b) for b in widths]
    if not ws or min(ws) < 1:
        raise ValueError(f"widths must be integers >= 1, got {widths!r}")
    if isinstance(draws, bool) or int(draws) != draws or draws < 1:
        raise ValueError(f"draws must be an integer >= 1, got {draws!r}")
    gen = torch.Generator().manual_seed(int(seed))
    n_layers = len(_linears(model))
    z = _forward(model, x)
    top2 = torch.topk(z, 2, dim=1).indices
    k, j = top2[:, 0], top2[:, 1]
    rows = torch.arange(len(z))

    def measure(r: torch.Tensor) -> tuple[float, float]:
        energy = float((r**2).sum(dim=1).mean())
        along = float((((r[rows, j] - r[rows, k]) ** 2) / 2.0).mean())
        return energy, along

    p_w, p_a, t_w, t_a = (np.zeros(n_layers) for _ in range(4))
    for i in range(n_layers):
        for kind, p_out, t_out in (("w", p_w, t_w), ("a", p_a, t_a)):
            log_p, energy, along = 0.0, 0.0, 0.0
            for b in ws:
                bits = {i: b}
                if kind == "w":
                    pairs = [
                        measure(_forward(model, x, weight_bits=bits, dither=gen) - z)
                        for _ in range(int(draws))
                    ]
                    e, u = (
                        float(np.mean([q[0] for q in pairs])),
                        float(np.mean([q[1] for q in pairs])),
                    )
                else:
                    e, u = measure(_forward(model, x, act_bits=bits) - z)
                log_p += math.log(max(e, 1e-300)) + alpha * b
                energy += e
                along += u
            p_out[i] = math.exp(log_p / len(ws))
            t_out[i] = energy / max(along, 1e-300)
    theta = p_w / t_w + p_a / t_a
    return NoiseCalibration(p_w, p_a, t_w, t_a, theta, tuple(ws))


def quantized_accuracy(
    model: torch.nn.Sequential, x: torch.Tensor, y: torch.Tensor, bits: Sequence[float] | np.ndarray
) -> float:
    """Accuracy with layers ``1..len(bits)`` quantized (weights and outputs share ``b_i``).

    Args:
        model: The network.
        x: Inputs, shape ``(n, d)``.
        y: Labels, shape ``(n,)``.
        bits: Widths of the first ``len(bits)`` linear layers (empty = float model).

    Returns:
        Top-1 accuracy in [0, 1].
    """
    bmap = {i: int(b) for i, b in enumerate(np.asarray(bits, dtype=float))}
    z = _forward(model, x, weight_bits=bmap, act_bits=bmap)
    return float((z.argmax(dim=1) == y).float().mean())


def calibrate_budgets(
    model: torch.nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    theta: Sequence[float] | np.ndarray,
    layers: LayerArrays,
    levels: Sequence[float] = (0.001, 0.002, 0.005, 0.01, 0.02),
    grid: Sequence[float] | np.ndarray | None = None,
    *,
    partitions: Sequence[int] | None = None,
    b_min: int = 1,
    b_max: int = 32,
) -> dict[float, float]:
    """Map accuracy-drop levels ``a`` to noise budgets :math:`C(a)` (spec 2.3 item 5).

    For each ``C`` on an ascending grid and each partition ``p``, quantize layers ``1..p``
    with the integer bits of Algorithm 1 (:func:`sequential_bits` with :math:`s` of eq. 26,
    then :func:`round_bits`) and measure the accuracy drop against the float model.
    :math:`C(a)` is the largest grid value such that it and every smaller grid value keep the
    worst drop over the partitions at most ``a`` (the measured drop is noisy, so the first
    violation stops the scan). Calibrating over every partition, not only the whole network,
    matters: a short device segment spends the whole budget on few layers, at few bits, where
    the noise model of eq. (18) is least accurate.

    Args:
        model: The trained network.
        x: Calibration inputs.
        y: Calibration labels.
        theta: Sensitivities from :func:`calibrate_noise`.
        layers: The network's arrays (for the payload weights :math:`s`).
        levels: Accuracy-drop levels (fractions) (default: 0.1% to 2%, five levels).
        grid: Candidate budgets (default: ``sum(theta) * logspace(-10, -1, 37)``, i.e. about
            16.6 down to 1.7 bits per layer).
        partitions: Device layer counts to check (default: ``1..L``).
        b_min: Smallest width (default: ``1``).
        b_max: Largest width (default: ``32``).

    Returns:
        ``{a: C(a)}``; a level that even the smallest grid value violates maps to that value.
    """
    t = _arr("theta", theta, positive=True)
    L = layers.num_layers
    if len(t) != L:
        raise ValueError(f"theta must have one entry per layer: len(theta)={len(t)} != L={L}")
    parts = list(range(1, L + 1)) if partitions is None else [int(p) for p in partitions]
    g = np.sort(
        np.asarray(float(t.sum()) * np.logspace(-10, -1, 37) if grid is None else grid, dtype=float)
    )
    base = quantized_accuracy(model, x, y, [])
    top = max(levels)
    worst = np.full(len(g), np.inf)
    for n, c in enumerate(g):
        drop = -np.inf
        for p in parts:
            s = payload_weights(layers.w, layers.a[p - 1], p)
            bits = round_bits(sequential_bits(t[:p], s, c), b_min, b_max)
            drop = max(drop, base - quantized_accuracy(model, x, y, bits))
        worst[n] = drop
        if drop > top + 1e-12:  # every level is already violated: larger budgets are moot
            break
    out: dict[float, float] = {}
    for a in levels:
        ok = worst <= a + 1e-12
        k = int(np.argmin(ok)) if not ok.all() else len(g)
        out[float(a)] = float(g[max(k - 1, 0)])
    return out
