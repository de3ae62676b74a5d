"""MAC and parameter formulas of common DNN layers, as pure functions.

Conventions used by the whole zoo and by :func:`datagen.profiling.profile_module`:

- A MAC is one multiply-accumulate. Convolutions and linear layers follow QPART's
  equations (1)-(2) (``specs/analytical.md`` section 2.2); the bias add is not counted.
- Pooling counts one operation per element of each pooling window (a comparison for max
  pooling, an add for average pooling), reported as MACs.
- Batch normalisation, activations, dropout, flattening and element-wise adds count
  **0 MACs**: at inference they are folded into the preceding convolution or fused with it,
  and they are memory-bound rather than compute-bound. This matches the way the published
  GMAC figures of ResNet, VGG and MobileNetV2 are counted.
- Parameters are the trainable weights: convolution and linear weights (plus bias when
  present) and the affine scale and shift of batch normalisation (``2 * channels``). Running
  statistics are buffers and are not counted, as in ``sum(p.numel() for p in
  module.parameters())``.

All sizes are element counts; spatial sizes are ``(height, width)`` pairs or ints.
"""

from __future__ import annotations

from datagen.validation import is_int

__all__ = [
    "conv_out_size",
    "conv2d_macs",
    "conv2d_params",
    "depthwise_conv2d_macs",
    "depthwise_conv2d_params",
    "linear_macs",
    "linear_params",
    "batchnorm_params",
    "pool2d_macs",
    "pool_out_size",
]

Size2 = int | tuple[int, int]


def _pair(value: Size2, name: str) -> tuple[int, int]:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if isinstance(value, int):
        pair = (value, value)
    else:
        try:
            pair = (int(value[0]), int(value[1]))
        except (TypeError, IndexError, ValueError):
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}") from None
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair


def _positive(name: str, value: int) -> int:
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def conv_out_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    r"""Output length of a convolution along one spatial axis (PyTorch's rule).

    .. math::
        H_{out} = \left\lfloor \frac{H_{in} + 2p - d(k-1) - 1}{s} \right\rfloor + 1

    Args:
        size: Input length (elements).
        kernel: Kernel length ``k``.
        stride: Stride ``s`` (default: ``1``).
        padding: Zero padding ``p`` on each side (default: ``0``).
        dilation: Dilation ``d`` (default: ``1``).

    Returns:
        The output length (elements).

    Raises:
        ValueError: If an argument is out of range or the kernel does not fit the input.
    """
    _positive("size", size)
    _positive("kernel", kernel)
    _positive("stride", stride)
    _positive("dilation", dilation)
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(
            f"kernel {kernel} (dilation {dilation}) does not fit input size {size} with padding "
            f"{padding}; use a larger input or more padding"
        )
    return out


def pool_out_size(size: int, kernel: int, stride: int | None = None, padding: int = 0) -> int:
    """Output length of a pooling layer along one axis (floor mode, PyTorch's default).

    Args:
        size: Input length (elements).
        kernel: Window length.
        stride: Stride (default: ``None`` = ``kernel``).
        padding: Padding on each side (default: ``0``).

    Returns:
        The output length (elements).
    """
    return conv_out_size(size, kernel, kernel if stride is None else stride, padding)


def _conv2d_weights(in_channels: int, out_channels: int, kernel: Size2, groups: int) -> int:
    """Weights of a 2-D convolution without bias, ``C_in / g * C_out * K_h * K_w``, checked."""
    _positive("in_channels", in_channels)
    _positive("out_channels", out_channels)
    _positive("groups", groups)
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible "
            f"by groups ({groups})"
        )
    kh, kw = _pair(kernel, "kernel")
    return (in_channels // groups) * out_channels * kh * kw


def conv2d_macs(
    in_channels: int, out_channels: int, kernel: Size2, out_size: Size2, groups: int = 1
) -> int:
    r"""MACs of a 2-D convolution (QPART eq. 2, with groups).

    .. math::
        o = \frac{C_{in}}{g}\, C_{out}\, K_h K_w\, H_{out} W_{out}

    Args:
        in_channels: Input channels ``C_in``.
        out_channels: Output channels ``C_out``.
        kernel: Kernel size ``K`` or ``(K_h, K_w)``.
        out_size: Output spatial size ``H`` or ``(H_out, W_out)``.
        groups: Channel groups ``g``; ``g = C_in = C_out`` is a depthwise conv (default: ``1``).

    Returns:
        MACs of one inference (MAC).

    Raises:
        ValueError: If the channels are not divisible by ``groups``.

    Example:
        >>> conv2d_macs(3, 16, 3, 32)
        442368
    """
    weights = _conv2d_weights(in_channels, out_channels, kernel, groups)
    h, w = _pair(out_size, "out_size")
    return weights * h * w


def conv2d_params(
    in_channels: int, out_channels: int, kernel: Size2, groups: int = 1, bias: bool = False
) -> int:
    r"""Parameters of a 2-D convolution.

    .. math::
        w = \frac{C_{in}}{g}\, C_{out}\, K_h K_w + [\text{bias}]\, C_{out}

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel: Kernel size ``K`` or ``(K_h, K_w)``.
        groups: Channel groups (default: ``1``).
        bias: Whether the layer has a bias (default: ``False``).

    Returns:
        The number of parameters.
    """
    weights = _conv2d_weights(in_channels, out_channels, kernel, groups)
    return weights + (out_channels if bias else 0)


def depthwise_conv2d_macs(channels: int, kernel: Size2, out_size: Size2) -> int:
    r"""MACs of a depthwise 2-D convolution (``groups = C_in = C_out = C``).

    .. math::
        o = C\, K_h K_w\, H_{out} W_{out}

    Args:
        channels: Channels ``C``.
        kernel: Kernel size.
        out_size: Output spatial size.

    Returns:
        MACs of one inference (MAC).
    """
    return conv2d_macs(channels, channels, kernel, out_size, groups=channels)


def depthwise_conv2d_params(channels: int, kernel: Size2, bias: bool = False) -> int:
    """Parameters of a depthwise 2-D convolution: ``C K_h K_w`` (+ ``C`` with a bias)."""
    return conv2d_params(channels, channels, kernel, groups=channels, bias=bias)


def linear_macs(in_features: int, out_features: int) -> int:
    r"""MACs of a fully connected layer (QPART eq. 1): fan-in times fan-out.

    .. math::
        o = n_{in}\, n_{out}

    Args:
        in_features: Input features ``n_in``.
        out_features: Output features ``n_out``.

    Returns:
        MACs of one inference (MAC).

    Example:
        >>> linear_macs(784, 512)
        401408
    """
    _positive("in_features", in_features)
    _positive("out_features", out_features)
    return in_features * out_features


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``n_in n_out`` (+ ``n_out`` with a bias)."""
    _positive("in_features", in_features)
    _positive("out_features", out_features)
    return in_features * out_features + (out_features if bias else 0)


def batchnorm_params(channels: int) -> int:
    """Trainable parameters of an affine batch normalisation: scale and shift, ``2 C``."""
    _positive("channels", channels)
    return 2 * channels


def pool2d_macs(channels: int, kernel: Size2, out_size: Size2) -> int:
    r"""Operations of a 2-D max or average pooling, counted as MACs (one per window element).

    .. math::
        o = C\, K_h K_w\, H_{out} W_{out}

    Args:
        channels: Channels ``C``.
        kernel: Window size ``K`` or ``(K_h, K_w)``; for a global pooling, the input size.
        out_size: Output spatial size.

    Returns:
        Operations of one inference (MAC).
    """
    _positive("channels", channels)
    kh, kw = _pair(kernel, "kernel")
    h, w = _pair(out_size, "out_size")
    return channels * kh * kw * h * w
