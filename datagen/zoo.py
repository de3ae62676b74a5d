"""A zoo of DNN profiles, computed from layer shapes written out here (no downloads).

:func:`get_profile` returns a :class:`~datagen.world.DNNProfile` whose layers carry MACs,
parameters and output activation sizes computed with the formulas of :mod:`datagen.layers`
(conv/linear MACs as QPART eqs. 1-2; batch norm folded into its convolution; 0 MACs for
activations). Figures are per inference (batch 1), float32 (4 bytes per element) by default.

**Granularity.** A layer of a profile is the unit a layer split may cut at. Plain networks
(VGG, the SplitPlace CNNs, the QPART MLP) list one layer per conv / pool / linear (activations
fused). Residual networks list one layer per residual block (``basic``, ``bottleneck``,
``inverted_residual``): a cut inside a block would have to ship the skip tensor as well, so
split-computing systems cut between blocks. Each conv layer's parameters include its batch
norm's scale and shift.

**Profiles** (``list_profiles()``):

======================== ================================== ==============================
name                     totals (default options)           accuracy (top-1) and source
======================== ================================== ==============================
``resnet18``             1.82 GMAC, 11.69 M params          0.6976, torchvision IMAGENET1K_V1
``resnet34``             3.67 GMAC, 21.80 M params          0.7331, torchvision IMAGENET1K_V1
``resnet50``             4.09 GMAC, 25.56 M params          0.7613, torchvision IMAGENET1K_V1
``vgg16``                15.5 GMAC, 138.4 M params          0.7159, torchvision IMAGENET1K_V1
``mobilenet_v2``         0.30 GMAC, 3.50 M params           0.7188, torchvision IMAGENET1K_V1
``mobilenet_v2``         7.94 M MAC (``dataset="cifar10"``)  0.7957 at 32x32, ORRIC table
``resnet50``             86.3 M MAC (``dataset="cifar10"``)  0.8613 at 32x32, ORRIC table
``splitplace_mnist``     12.0 M MAC, 1.20 M params          0.975 / 0.957 semantic, SplitPlace
``splitplace_fashionmnist`` 12.0 M MAC, 1.20 M params       0.957 / 0.917 semantic, SplitPlace
``splitplace_cifar100``  16.5 M MAC, 1.23 M params          0.980 / 0.940 semantic, SplitPlace
``qpart_mlp``            575,808 MAC and params             0.9619, QPART Table III
======================== ================================== ==============================

Options (keyword arguments of :func:`get_profile`):

- every profile: ``bytes_per_elem`` (default ``4``; e.g. ``1`` for an int8 deployment).
- ``resnet18``, ``resnet34``, ``vgg16``: ``resolution`` (input side, default ``224``),
  ``num_classes`` (default ``1000``); the ResNets also take ``fold_bn`` (default ``True``;
  ``False`` counts 4 operations per batch-norm output element as MACs).
- ``mobilenet_v2``, ``resnet50``: the same plus ``dataset`` (``"imagenet"``, default, or
  ``"cifar10"`` = ORRIC's setting at resolution 32 (default), 28, 24 or 20, with
  ``fold_bn=False`` and the 1000-way head by default, which reproduces ORRIC's MAC table; see
  :func:`mobilenet_v2`). Their names become e.g. ``"mobilenet_v2_cifar10_28"``.

The SplitPlace CNNs are designed here (the paper does not list its layer shapes) to show the
published imbalance: one conv fragment carries ~88% of the MACs and one FC fragment ~98% of
the weights. Their semantic variant (``B = 5`` branches, each predicting 1/5 of the classes)
takes ``semantic_macs_fraction = 0.36`` of the layer model's compute in total (SplitPlace), and
its accuracy is the published one (``specs/splitplace.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from datagen.layers import (
    batchnorm_params,
    conv2d_macs,
    conv2d_params,
    conv_out_size,
    linear_macs,
    linear_params,
    pool2d_macs,
    pool_out_size,
)
from datagen.validation import is_int
from datagen.world import DNNProfile, LayerProfile

__all__ = ["get_profile", "list_profiles", "SPLITPLACE_SEMANTIC_MACS_FRACTION"]

#: Total compute of SplitPlace's semantic variant (all B = 5 branches) relative to the layer
#: model (SplitPlace, ``specs/splitplace.md``: "about 36% of the layer model's compute").
SPLITPLACE_SEMANTIC_MACS_FRACTION = 0.36


#: Element operations of an unfolded batch norm, (x - mean) / std * gamma + beta, counted as
#: MACs when a profile is asked with ``fold_bn=False`` (ORRIC's counting, see mobilenet_v2).
_UNFOLDED_BN_OPS = 4


class _Net:
    """Tracks the activation shape while layers are appended (a tiny shape-inference helper)."""

    def __init__(
        self, channels: int, height: int, width: int, bytes_per_elem: int, fold_bn: bool = True
    ) -> None:
        self.c, self.h, self.w = channels, height, width
        self.bpe = bytes_per_elem
        self.fold_bn = fold_bn
        self.input_elems = channels * height * width
        self.layers: list[LayerProfile] = []
        self._acc: list[int] | None = None

    @property
    def elems(self) -> int:
        return self.c * self.h * self.w

    def _emit(self, name: str | None, kind: str, macs: int, params: int) -> None:
        if self._acc is not None:
            self._acc[0] += macs
            self._acc[1] += params
            return
        assert name is not None
        self.layers.append(LayerProfile(name, kind, macs, params, self.elems, self.bpe))

    def extra(self, macs: int, params: int) -> None:
        """Add compute and weights to the open block (e.g. a residual downsample branch)."""
        assert self._acc is not None
        self._acc[0] += macs
        self._acc[1] += params

    @contextmanager
    def block(self, name: str, kind: str) -> Iterator[None]:
        """Accumulate everything emitted inside into one layer named ``name``."""
        self._acc = [0, 0]
        try:
            yield
            macs, params = self._acc
        finally:
            self._acc = None
        self._emit(name, kind, macs, params)

    def conv(
        self,
        name: str | None,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        bias: bool = False,
        bn: bool = True,
    ) -> None:
        pad = kernel // 2 if padding is None else padding
        self.h = conv_out_size(self.h, kernel, stride, pad)
        self.w = conv_out_size(self.w, kernel, stride, pad)
        macs = conv2d_macs(self.c, out_channels, kernel, (self.h, self.w), groups)
        params = conv2d_params(self.c, out_channels, kernel, groups, bias)
        if bn:
            params += batchnorm_params(out_channels)
            if not self.fold_bn:
                macs += _UNFOLDED_BN_OPS * out_channels * self.h * self.w
        kind = "dwconv" if groups > 1 and groups == self.c == out_channels else "conv"
        self.c = out_channels
        self._emit(name, kind, macs, params)

    def pool(
        self, name: str, kind: str, kernel: int, stride: int | None = None, padding: int = 0
    ) -> None:
        self.h = pool_out_size(self.h, kernel, stride, padding)
        self.w = pool_out_size(self.w, kernel, stride, padding)
        self._emit(name, kind, pool2d_macs(self.c, kernel, (self.h, self.w)), 0)

    def adaptive_avgpool(self, name: str, out_h: int, out_w: int) -> None:
        # PyTorch's adaptive windows: [floor(i*H/out), ceil((i+1)*H/out)) per output index i.
        def window_sum(size: int, out: int) -> int:
            return sum(-(-(i + 1) * size // out) - (i * size) // out for i in range(out))

        macs = self.c * window_sum(self.h, out_h) * window_sum(self.w, out_w)
        self.h, self.w = out_h, out_w
        self._emit(name, "avgpool", macs, 0)

    def linear(self, name: str, out_features: int, bias: bool = True) -> None:
        n_in = self.elems
        macs = linear_macs(n_in, out_features)
        params = linear_params(n_in, out_features, bias)
        self.c, self.h, self.w = out_features, 1, 1
        self._emit(name, "linear", macs, params)


# --------------------------------------------------------------------------------------------
# Architectures
# --------------------------------------------------------------------------------------------


def _resnet(
    name: str,
    block: str,
    depths: tuple[int, int, int, int],
    accuracy: float,
    resolution: int = 224,
    num_classes: int = 1000,
    bytes_per_elem: int = 4,
    fold_bn: bool = True,
) -> DNNProfile:
    """ResNet v1.5 as in torchvision (stride on the 3x3 conv of a bottleneck)."""
    net = _Net(3, resolution, resolution, bytes_per_elem, fold_bn)
    net.conv("conv1", 64, 7, stride=2, padding=3)
    net.pool("maxpool", "maxpool", 3, 2, 1)
    expansion = 4 if block == "bottleneck" else 1
    for stage, (width, depth) in enumerate(zip((64, 128, 256, 512), depths), start=1):
        for i in range(depth):
            stride = 2 if stage > 1 and i == 0 else 1
            c_in, c_out = net.c, width * expansion
            with net.block(f"layer{stage}.{i}", block):
                if block == "bottleneck":
                    net.conv(None, width, 1)
                    net.conv(None, width, 3, stride)
                    net.conv(None, c_out, 1)
                else:
                    net.conv(None, width, 3, stride)
                    net.conv(None, width, 3)
                if stride != 1 or c_in != c_out:
                    net.extra(
                        conv2d_macs(c_in, c_out, 1, (net.h, net.w)),
                        conv2d_params(c_in, c_out, 1) + batchnorm_params(c_out),
                    )
    net.adaptive_avgpool("avgpool", 1, 1)
    net.linear("fc", num_classes)
    return DNNProfile(name, tuple(net.layers), accuracy, net.input_elems)


def resnet18(**options: Any) -> DNNProfile:
    """ResNet-18 (He et al. 2016); accuracy 69.758% top-1 (torchvision IMAGENET1K_V1)."""
    return _resnet("resnet18", "basic", (2, 2, 2, 2), 0.69758, **options)


def resnet34(**options: Any) -> DNNProfile:
    """ResNet-34 (He et al. 2016); accuracy 73.314% top-1 (torchvision IMAGENET1K_V1)."""
    return _resnet("resnet34", "basic", (3, 4, 6, 3), 0.73314, **options)


#: ORRIC's CIFAR-10 accuracy of ResNet-50 (the teacher) at each input resolution (ORRIC
#: results table, "original" column; ``specs/analytical.md`` section 1.8).
ORRIC_RESNET50_ACCURACY = {32: 0.8613, 28: 0.7902, 24: 0.7195, 20: 0.5450}

#: ORRIC's CIFAR-10 accuracy of MobileNetV2 (the deployed student) at each input resolution.
ORRIC_MOBILENET_V2_ACCURACY = {32: 0.7957, 28: 0.7329, 24: 0.5938, 20: 0.4493}


def _orric_settings(
    name: str,
    dataset: str,
    resolution: int | None,
    num_classes: int | None,
    fold_bn: bool | None,
    imagenet_accuracy: float,
    orric_accuracy: dict[int, float],
) -> tuple[int, int, bool, float, str]:
    """Resolve ``(resolution, num_classes, fold_bn, accuracy, profile name)`` for a dataset."""
    if dataset == "imagenet":
        return (
            224 if resolution is None else resolution,
            1000 if num_classes is None else num_classes,
            True if fold_bn is None else fold_bn,
            imagenet_accuracy,
            name,
        )
    if dataset != "cifar10":
        raise ValueError(
            f"dataset must be 'imagenet' or 'cifar10' for profile {name!r}, got {dataset!r}"
        )
    res = 32 if resolution is None else resolution
    if res not in orric_accuracy:
        raise ValueError(
            f"resolution must be one of {sorted(orric_accuracy)} for profile {name!r} with "
            f"dataset='cifar10' (ORRIC's settings), got {res!r}"
        )
    return (
        res,
        1000 if num_classes is None else num_classes,
        False if fold_bn is None else fold_bn,
        orric_accuracy[res],
        f"{name}_cifar10_{res}",
    )


def resnet50(
    dataset: str = "imagenet",
    resolution: int | None = None,
    num_classes: int | None = None,
    fold_bn: bool | None = None,
    bytes_per_elem: int = 4,
) -> DNNProfile:
    """ResNet-50 v1.5 (He et al. 2016); accuracy 76.130% top-1 (torchvision IMAGENET1K_V1).

    ``dataset="cifar10"`` is ORRIC's teacher, counted the way ORRIC's table is (see
    :func:`mobilenet_v2`): 86.28 / 81.93 / 68.89 / 65.70 M MACs at 32 / 28 / 24 / 20 against
    ORRIC's 86.37 / 82.01 / 68.96 / 65.76 (within 0.2%).
    """
    res, classes, fold, accuracy, name = _orric_settings(
        "resnet50", dataset, resolution, num_classes, fold_bn, 0.76130, ORRIC_RESNET50_ACCURACY
    )
    profile = _resnet("resnet50", "bottleneck", (3, 4, 6, 3), accuracy, res, classes,
                      bytes_per_elem, fold)  # fmt: skip
    return DNNProfile(name, profile.layers, accuracy, profile.input_elems)


_VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


def vgg16(resolution: int = 224, num_classes: int = 1000, bytes_per_elem: int = 4) -> DNNProfile:
    """VGG-16 without batch norm (Simonyan & Zisserman 2015), torchvision layout.

    Accuracy 71.592% top-1 (torchvision IMAGENET1K_V1). Convs have biases; an adaptive average
    pool to 7x7 precedes the 25088-4096-4096-classes classifier.
    """
    net = _Net(3, resolution, resolution, bytes_per_elem)
    conv_i = pool_i = 0
    for item in _VGG16_CFG:
        if item == "M":
            pool_i += 1
            net.pool(f"pool{pool_i}", "maxpool", 2, 2)
        else:
            conv_i += 1
            net.conv(f"conv{conv_i}", int(item), 3, bias=True, bn=False)
    net.adaptive_avgpool("avgpool", 7, 7)
    net.linear("fc6", 4096)
    net.linear("fc7", 4096)
    net.linear("fc8", num_classes)
    return DNNProfile("vgg16", tuple(net.layers), 0.71592, net.input_elems)


_MBV2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                  (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip


def mobilenet_v2(
    dataset: str = "imagenet",
    resolution: int | None = None,
    num_classes: int | None = None,
    fold_bn: bool | None = None,
    bytes_per_elem: int = 4,
) -> DNNProfile:
    """MobileNetV2 (Sandler et al. 2018), torchvision layout, width multiplier 1.0.

    ``dataset="imagenet"``: 224x224 by default, 1000 classes, batch norm folded, accuracy
    71.878% top-1 (torchvision IMAGENET1K_V1).

    ``dataset="cifar10"``: ORRIC's deployed student at resolution 32 (default), 28, 24 or 20,
    with ORRIC's CIFAR-10 accuracy at that resolution. ORRIC's table (7.94 / 7.45 / 6.71 /
    6.35 M MACs) is reproduced within 0.05% by this variant: the **unmodified torchvision
    ImageNet model** (stride-2 stem, so a 32x32 input ends at 1x1, and the 1000-way classifier
    kept) fed the resized CIFAR-10 image, with batch norm **not folded** and counted as 4
    operations per output element ((x - mean) / std * gamma + beta), which is what ORRIC's MAC
    counter evidently did. This variant gives 7.938 / 7.447 / 6.707 / 6.347 M MACs. The same
    counting reproduces ORRIC's ResNet-50 column (see :func:`resnet50`). Pass
    ``num_classes=10, fold_bn=True`` for a 10-way head with conv/linear MACs only (6.13 M at 32).
    """
    res, classes, fold, accuracy, name = _orric_settings(
        "mobilenet_v2", dataset, resolution, num_classes, fold_bn, 0.71878,
        ORRIC_MOBILENET_V2_ACCURACY,
    )  # fmt: skip
    net = _Net(3, res, res, bytes_per_elem, fold)
    net.conv("features.0", 32, 3, stride=2)
    index = 1
    for t, c, n, s in _MBV2_SETTINGS:
        for i in range(n):
            stride = s if i == 0 else 1
            with net.block(f"features.{index}", "inverted_residual"):
                hidden = net.c * t
                if t != 1:
                    net.conv(None, hidden, 1)
                net.conv(None, hidden, 3, stride, groups=hidden)
                net.conv(None, c, 1)
            index += 1
    net.conv(f"features.{index}", 1280, 1)
    net.adaptive_avgpool("avgpool", 1, 1)
    net.linear("classifier", classes)
    return DNNProfile(name, tuple(net.layers), accuracy, net.input_elems)


# SplitPlace published accuracies (layer, semantic), specs/splitplace.md.
_SPLITPLACE = {
    "splitplace_mnist": ((1, 28, 10), 0.975, 0.957),
    "splitplace_fashionmnist": ((1, 28, 10), 0.957, 0.917),
    "splitplace_cifar100": ((3, 32, 100), 0.980, 0.940),
}


def _splitplace(name: str, bytes_per_elem: int = 4) -> DNNProfile:
    """A small CNN in SplitPlace's style: two convs, a max pool and two FC layers.

    MNIST and FashionMNIST (1x28x28, 10 classes) use PyTorch's classic MNIST example network:
    conv 1->32 3x3, conv 32->64 3x3, max pool 2, FC 9216->128, FC 128->10 (convs unpadded,
    biases everywhere). ``conv2`` carries 88.5% of the MACs and ``fc1`` 98.3% of the weights.
    CIFAR-100 (3x32x32) uses the same shape with 96 hidden units and 100 classes: ``conv2``
    carries 87.6% of the MACs and ``fc1`` 97.6% of the weights.
    """
    (channels, side, classes), accuracy, semantic_accuracy = _SPLITPLACE[name]
    hidden = 128 if classes == 10 else 96
    net = _Net(channels, side, side, bytes_per_elem)
    net.conv("conv1", 32, 3, padding=0, bias=True, bn=False)
    net.conv("conv2", 64, 3, padding=0, bias=True, bn=False)
    net.pool("pool", "maxpool", 2)
    net.linear("fc1", hidden)
    net.linear("fc2", classes)
    return DNNProfile(
        name,
        tuple(net.layers),
        accuracy,
        net.input_elems,
        semantic_accuracy=semantic_accuracy,
        semantic_macs_fraction=SPLITPLACE_SEMANTIC_MACS_FRACTION,
    )


def qpart_mlp(bytes_per_elem: int = 4) -> DNNProfile:
    """QPART's six-layer MNIST MLP 784-512-256-128-64-32-10 without biases (spec Q3).

    Weights and MACs per layer are ``(401408, 131072, 32768, 8192, 2048, 320)``. Accuracy
    96.19% (QPART Table III, unquantized "No Opt." column).
    """
    net = _Net(784, 1, 1, bytes_per_elem)
    for i, width in enumerate((512, 256, 128, 64, 32, 10), start=1):
        net.linear(f"fc{i}", width, bias=False)
    return DNNProfile("qpart_mlp", tuple(net.layers), 0.9619, net.input_elems)


def _splitplace_builder(name: str) -> Callable[..., DNNProfile]:
    def build(bytes_per_elem: int = 4) -> DNNProfile:
        return _splitplace(name, bytes_per_elem)

    return build


_RESNET_OPTIONS = ("resolution", "num_classes", "fold_bn", "bytes_per_elem")
_ORRIC_OPTIONS = ("dataset", "resolution", "num_classes", "fold_bn", "bytes_per_elem")
_REGISTRY: dict[str, tuple[Callable[..., DNNProfile], tuple[str, ...]]] = {
    "mobilenet_v2": (mobilenet_v2, _ORRIC_OPTIONS),
    "resnet18": (resnet18, _RESNET_OPTIONS),
    "resnet34": (resnet34, _RESNET_OPTIONS),
    "resnet50": (resnet50, _ORRIC_OPTIONS),
    "vgg16": (vgg16, ("resolution", "num_classes", "bytes_per_elem")),
    "splitplace_mnist": (_splitplace_builder("splitplace_mnist"), ("bytes_per_elem",)),
    "splitplace_fashionmnist": (
        _splitplace_builder("splitplace_fashionmnist"),
        ("bytes_per_elem",),
    ),
    "splitplace_cifar100": (_splitplace_builder("splitplace_cifar100"), ("bytes_per_elem",)),
    "qpart_mlp": (qpart_mlp, ("bytes_per_elem",)),
}


def list_profiles() -> list[str]:
    """Names accepted by :func:`get_profile`, sorted."""
    return sorted(_REGISTRY)


def get_profile(name: str, **options: Any) -> DNNProfile:
    """Return the profile of a zoo DNN.

    Args:
        name: One of :func:`list_profiles`.
        **options: Profile options (see the module docstring): ``bytes_per_elem`` for all;
            ``resolution`` and ``num_classes`` for ResNets, VGG16 and MobileNetV2; ``dataset``
            for MobileNetV2.

    Returns:
        The profile (layers in execution order, accuracy, input size).

    Raises:
        ValueError: If the name is unknown (the message lists the known names), an option is
            not accepted by that profile, or an option value is invalid.

    Example:
        >>> p = get_profile("resnet50")
        >>> round(p.total_macs / 1e9, 2), round(p.total_params / 1e6, 2)
        (4.09, 25.56)
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown DNN profile {name!r}; known profiles: {list_profiles()}")
    builder, accepted = _REGISTRY[name]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for profile {name!r}; accepted: {list(accepted)}"
        )
    for key in ("resolution", "num_classes", "bytes_per_elem"):
        value = options.get(key)
        if value is None:
            continue
        if not is_int(value) or value < 1:
            raise ValueError(
                f"{key} must be a positive integer for profile {name!r}, got {value!r}"
            )
        options[key] = int(value)
    fold = options.get("fold_bn")
    if fold is not None and not isinstance(fold, bool):
        raise ValueError(f"fold_bn must be True or False for profile {name!r}, got {fold!r}")
    return builder(**options)
