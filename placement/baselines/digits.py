r"""Real-data helpers for the paper experiments: scikit-learn's 8x8 handwritten digits.

The ORRIC drift experiment (:mod:`placement.baselines.orric_drift`) and the QPART compression
experiment (:mod:`placement.baselines.qpart_digits`) run on
:func:`sklearn.datasets.load_digits` (1797 images of 8x8 pixels, 10 classes), which ships with
scikit-learn: nothing is downloaded. This module holds the seeded split, the drifting
corruptions, the resolution change of ORRIC's inference configurations, a small CNN with its
MAC count and a seeded training loop. Every function is deterministic for a given seed on a
given machine; torch runs on one thread inside :func:`single_thread`.

Shapes: images are ``(n, 1, 8, 8)`` float tensors with pixel values in ``[0, 1]``; labels are
``(n,)`` int64 tensors.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = [
    "DigitsSplit",
    "check_seed",
    "seed_states",
    "single_thread",
    "load_digits_split",
    "corrupt",
    "resize",
    "build_cnn",
    "cnn_macs",
    "train_classifier",
    "accuracy",
]

#: Side of the digits images (pixels).
SIDE = 8


class DigitsSplit(NamedTuple):
    """A seeded three-way split of the digits data set.

    Shapes:
        ``x_*``: ``(n, 1, 8, 8)`` float32 in ``[0, 1]``; ``y_*``: ``(n,)`` int64.
    """

    x_train: torch.Tensor
    """Images the deployed model is first trained on (clean)."""
    y_train: torch.Tensor
    """Their labels."""
    x_stream: torch.Tensor
    """Pool of images that arrive during deployment (corrupted by the drift)."""
    y_stream: torch.Tensor
    """Their labels (used for retraining, as labelled uploads)."""
    x_test: torch.Tensor
    """Held-out images on which accuracy is measured."""
    y_test: torch.Tensor
    """Their labels."""


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block (restored afterwards).

    One thread keeps the experiments cheap on a shared machine and their floating-point
    reductions in a fixed order.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_seed(seed: int) -> None:
    """Check that ``seed`` is an integer ``>= 0`` (integral floats pass; booleans do not).

    Raises:
        ValueError: Naming the seed, if it is negative or not an integer.
    """
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")


def seed_states(seed: int, n: int) -> np.ndarray:
    """Check an experiment's seed and derive one 32-bit seed per random stream from it.

    Args:
        seed: The experiment's seed (``>= 0``).
        n: Number of streams (data split, weights, corruptions...).

    Returns:
        ``numpy.random.SeedSequence(seed).generate_state(n)``, a uint32 array of shape ``(n,)``.

    Raises:
        ValueError: Naming the seed, if it is negative or not an integer.
    """
    check_seed(seed)
    return np.random.SeedSequence(int(seed)).generate_state(n)


def _fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or any(not math.isfinite(f) or f <= 0 for f in fr) or sum(fr) > 1 + 1e-9:
        raise ValueError(
            f"fractions must be three positive shares (train, stream, test) summing to <= 1, "
            f"got {fractions!r}"
        )
    return fr[0], fr[1], fr[2]


def load_digits_split(
    seed: int, fractions: Sequence[float] = (0.4, 0.3, 0.3)
) -> DigitsSplit:
    """Load scikit-learn's digits and split them by a seeded permutation.

    Args:
        seed: Seed of the permutation (``>= 0``).
        fractions: Shares of the 1797 images for (train, stream, test), each ``> 0``,
            summing to at most 1 (default: ``(0.4, 0.3, 0.3)``).

    Returns:
        The :class:`DigitsSplit` (pixels scaled from 0..16 to ``[0, 1]``).

    Raises:
        ValueError: On a negative seed or invalid fractions.
    """
    import torch
    from sklearn.datasets import load_digits

    check_seed(seed)
    f_tr, f_st, f_te = _fractions(fractions)
    data = load_digits()
    x = torch.tensor(data.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(data.target, dtype=torch.int64)
    n = len(y)
    perm = torch.tensor(np.random.default_rng(int(seed)).permutation(n))
    n_tr, n_st, n_te = int(f_tr * n), int(f_st * n), int(f_te * n)
    tr, st = perm[:n_tr], perm[n_tr : n_tr + n_st]
    te = perm[n_tr + n_st : n_tr + n_st + n_te]
    return DigitsSplit(x[tr], y[tr], x[st], y[st], x[te], y[te])


def corrupt(
    x: torch.Tensor,
    severity: float,
    generator: torch.Generator,
    *,
    max_noise: float = 0.5,
    max_rotation_deg: float = 35.0,
    max_blur: float = 0.6,
) -> torch.Tensor:
    r"""Corrupt images with a drift of the given severity (rotation, blur, Gaussian noise).

    .. math::
        \tilde x=\mathrm{clip}\big(\mathrm{blur}_{s\beta}(\mathrm{rot}_{\pm s\theta}(x))
        +s\sigma\varepsilon,\ 0,\ 1\big),\qquad \varepsilon\sim\mathcal N(0, I)

    Each image is rotated by :math:`\pm s\theta` (random sign), blurred by a 3x3 kernel whose
    off-centre weight is :math:`s\beta/8` each, and receives Gaussian noise of standard
    deviation :math:`s\sigma`, in the manner of CIFAR-10-C's corruptions whose severity grows.

    Args:
        x: Images, shape ``(n, 1, H, W)``, pixels in ``[0, 1]``.
        severity: Drift level :math:`s` in ``[0, 1]`` (``0`` returns a copy of ``x``).
        generator: Seeded generator for the rotation signs and the noise.
        max_noise: Noise standard deviation :math:`\sigma` at ``s = 1`` (pixel units)
            (default: ``0.5``).
        max_rotation_deg: Rotation :math:`\theta` at ``s = 1`` (degrees) (default: ``35``).
        max_blur: Blur mass :math:`\beta` moved off-centre at ``s = 1`` (default: ``0.6``).

    Returns:
        The corrupted images, same shape.

    Raises:
        ValueError: If ``severity`` is outside ``[0, 1]`` or a maximum is negative.
    """
    import torch
    import torch.nn.functional as F

    s = float(severity)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"severity must be in [0, 1], got {severity!r}")
    for name, v in (("max_noise", max_noise), ("max_rotation_deg", max_rotation_deg),
                    ("max_blur", max_blur)):
        if not math.isfinite(float(v)) or float(v) < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    n = x.shape[0]
    sign = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    noise = torch.randn(x.shape, generator=generator)
    if s == 0.0:
        return x.clone()
    ang = sign * math.radians(s * max_rotation_deg)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros(n)], 1),
                         torch.stack([sin, cos, torch.zeros(n)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    b = s * max_blur
    kernel = torch.full((3, 3), b / 8.0)
    kernel[1, 1] = 1.0 - b
    out = F.conv2d(out, kernel.view(1, 1, 3, 3), padding=1)
    return torch.clamp(out + s * max_noise * noise, 0.0, 1.0)


def resize(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """Resample images to ``resolution x resolution`` pixels (area / bilinear interpolation).

    ORRIC's inference configurations are input resolutions: a smaller input costs fewer MACs
    (:func:`cnn_macs`) and loses detail.

    Args:
        x: Images, shape ``(n, 1, H, W)``.
        resolution: Output side (pixels), ``>= 2``.

    Returns:
        Images of shape ``(n, 1, resolution, resolution)`` (``x`` itself when unchanged).

    Raises:
        ValueError: If ``resolution < 2``.
    """
    import torch.nn.functional as F

    if isinstance(resolution, bool) or int(resolution) != resolution or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2 (pixels), got {resolution!r}")
    r = int(resolution)
    if x.shape[-1] == r and x.shape[-2] == r:
        return x
    mode = "area" if r < x.shape[-1] else "bilinear"
    if mode == "area":
        return F.interpolate(x, size=(r, r), mode="area")
    return F.interpolate(x, size=(r, r), mode="bilinear", align_corners=False)


def build_cnn(
    generator: torch.Generator, channels: tuple[int, int] = (8, 16)
) -> torch.nn.Sequential:
    """A small CNN that accepts any input resolution >= 2.

    ``conv3x3(1->c1) - ReLU - conv3x3(c1->c2) - ReLU - adaptive avg pool to 4x4 - linear(16 c2
    -> 10)``; the adaptive pooling makes the MACs scale with the input area (:func:`cnn_macs`).

    Args:
        generator: Seeded generator of the initial weights.
        channels: Channels ``(c1, c2)`` of the two convolutions (default: ``(8, 16)``).

    Returns:
        The network (logits out).

    Shapes:
        input ``(n, 1, r, r)``, output ``(n, 10)``.
    """
    import torch
    from torch import nn

    c1, c2 = int(channels[0]), int(channels[1])
    if c1 < 1 or c2 < 1:
        raise ValueError(f"channels must be two integers >= 1, got {channels!r}")
    model = nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(16 * c2, 10),
    )
    with torch.no_grad():
        for p in model.parameters():
            bound = 1.0 / math.sqrt(max(p.shape[-1] if p.dim() == 1 else p[0].numel(), 1))
            p.uniform_(-bound, bound, generator=generator)
    return model


def cnn_macs(resolution: int, channels: tuple[int, int] = (8, 16)) -> int:
    r"""MACs of one forward pass of :func:`build_cnn` at a resolution (spec eq. (1)-(2)).

    .. math::
        o = 9c_1r^2 + 9c_1c_2r^2 + 160c_2

    Args:
        resolution: Input side :math:`r` (pixels), ``>= 2``.
        channels: ``(c1, c2)`` (default: ``(8, 16)``).

    Returns:
        MACs per sample (pooling and ReLU not counted).
    """
    if isinstance(resolution, bool) or int(resolution) != resolution or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2 (pixels), got {resolution!r}")
    c1, c2 = int(channels[0]), int(channels[1])
    r2 = int(resolution) ** 2
    return 9 * c1 * r2 + 9 * c1 * c2 * r2 + 16 * c2 * 10


def train_classifier(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
    *,
    epochs: int = 10,
    lr: float = 3e-3,
    batch_size: int = 32,
    resolutions: Sequence[int] = (),
) -> torch.nn.Module:
    """Train (or fine-tune) in place with Adam and cross-entropy; returns the model in eval mode.

    Args:
        model: The network.
        x: Images, shape ``(n, 1, H, W)``.
        y: Labels, shape ``(n,)``.
        generator: Seeded generator of the shuffling and the resolution draws.
        epochs: Passes over the data, ``>= 0`` (default: ``10``).
        lr: Adam learning rate (default: ``3e-3``).
        batch_size: Mini-batch size, ``>= 1`` (default: ``32``).
        resolutions: If given, each mini-batch is resized to a resolution drawn from this list
            (multi-resolution training, so one model serves every inference configuration)
            (default: ``()`` = native resolution).

    Returns:
        ``model``.

    Raises:
        ValueError: On ``epochs < 0``, ``batch_size < 1`` or mismatched ``x``/``y``.
    """
    import torch

    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be an integer >= 0, got {epochs!r}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    res = [int(r) for r in resolutions]
    if len(x) == 0 or epochs == 0:
        return model.eval()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(int(epochs)):
        perm = torch.randperm(len(x), generator=generator)
        for k in range(0, len(x), int(batch_size)):
            idx = perm[k : k + int(batch_size)]
            xb = x[idx]
            if res:
                xb = resize(xb, res[int(torch.randint(len(res), (1,), generator=generator))])
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), y[idx])
            loss.backward()
            opt.step()
    return model.eval()


def accuracy(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, resolution: int | None = None
) -> float:
    """Top-1 accuracy of ``model`` on ``(x, y)``, optionally at another input resolution.

    Args:
        model: The network.
        x: Images, shape ``(n, 1, H, W)``, ``n >= 1``.
        y: Labels, shape ``(n,)``.
        resolution: Resize the inputs first (:func:`resize`) (default: ``None`` = as given).

    Returns:
        Accuracy in ``[0, 1]``.

    Raises:
        ValueError: On empty or mismatched inputs.
    """
    import torch

    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"x and y must be non-empty and equally long, got {len(x)}, {len(y)}")
    xb = x if resolution is None else resize(x, resolution)
    with torch.no_grad():
        return float((model(xb).argmax(dim=1) == y).float().mean())
