import pytest
from hypothesis import given
from hypothesis import strategies as st

from datagen.layers import (
    batchnorm_params,
    conv2d_macs,
    conv2d_params,
    conv_out_size,
    depthwise_conv2d_macs,
    depthwise_conv2d_params,
    linear_macs,
    linear_params,
    pool2d_macs,
    pool_out_size,
)

# ---- oracles (specs/analytical.md section 2.6, Q1) -------------------------------------------


def test_q1_linear_784_512():
    assert linear_macs(784, 512) == 401_408


def test_q1_conv_3_16_3x3_out32():
    assert conv2d_macs(3, 16, 3, 32) == 442_368


def test_q1_conv_64_128_3x3_out16():
    assert conv2d_macs(64, 128, (3, 3), (16, 16)) == 18_874_368


def test_qpart_mlp_weights_equal_macs():
    widths = (784, 512, 256, 128, 64, 32, 10)
    got = tuple(linear_macs(a, b) for a, b in zip(widths, widths[1:]))
    assert got == (401408, 131072, 32768, 8192, 2048, 320)
    assert tuple(linear_params(a, b, bias=False) for a, b in zip(widths, widths[1:])) == got


# ---- unit ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "expected"),
    [
        (224, 7, 2, 3, 112),
        (112, 3, 2, 1, 56),
        (32, 3, 1, 1, 32),
        (28, 3, 1, 0, 26),
        (7, 1, 1, 0, 7),
    ],
)
def test_conv_out_size(size, kernel, stride, padding, expected):
    assert conv_out_size(size, kernel, stride, padding) == expected


def test_pool_out_size_defaults_stride_to_kernel():
    assert pool_out_size(24, 2) == 12
    assert pool_out_size(112, 3, 2, 1) == 56


def test_conv_params_and_bias():
    assert conv2d_params(3, 64, 7) == 9408
    assert conv2d_params(3, 32, 3, bias=True) == 3 * 32 * 9 + 32
    assert batchnorm_params(64) == 128


def test_depthwise_is_grouped_conv():
    assert (
        depthwise_conv2d_macs(32, 3, 56)
        == conv2d_macs(32, 32, 3, 56, groups=32)
        == 32 * 9 * 56 * 56
    )
    assert depthwise_conv2d_params(32, 3) == 288
    assert depthwise_conv2d_params(32, 3, bias=True) == 320


def test_pool_macs_counts_window_elements():
    assert pool2d_macs(64, 3, 56) == 64 * 9 * 56 * 56
    assert pool2d_macs(2048, 7, 1) == 2048 * 49


def test_linear_params_bias_default():
    assert linear_params(512, 10) == 5130


# ---- errors ----------------------------------------------------------------------------------


def test_groups_must_divide_channels():
    with pytest.raises(ValueError, match="divisible by groups"):
        conv2d_macs(6, 8, 3, 4, groups=4)
    with pytest.raises(ValueError, match="divisible by groups"):
        conv2d_params(6, 8, 3, groups=4)


def test_kernel_larger_than_input():
    with pytest.raises(ValueError, match="does not fit input size 2"):
        conv_out_size(2, 5)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_positive_int_arguments(bad):
    with pytest.raises(ValueError, match="in_features must be an integer >= 1"):
        linear_macs(bad, 3)


def test_bad_pair():
    with pytest.raises(ValueError, match="kernel must be an int or a pair"):
        conv2d_macs(3, 3, (1, 2, 3), 4)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        conv_out_size(4, 3, padding=-1)


# ---- properties ------------------------------------------------------------------------------


@given(
    st.integers(1, 64),
    st.integers(1, 64),
    st.integers(1, 7),
    st.integers(1, 7),
    st.integers(1, 32),
    st.integers(1, 32),
)
def test_conv_macs_factorise(c_in, c_out, kh, kw, h, w):
    macs = conv2d_macs(c_in, c_out, (kh, kw), (h, w))
    assert macs == conv2d_params(c_in, c_out, (kh, kw)) * h * w


@given(st.integers(1, 512), st.integers(1, 512))
def test_pointwise_conv_on_1x1_equals_linear(n_in, n_out):
    assert conv2d_macs(n_in, n_out, 1, 1) == linear_macs(n_in, n_out)
    assert conv2d_params(n_in, n_out, 1, bias=True) == linear_params(n_in, n_out)


@given(st.integers(1, 8), st.integers(1, 8), st.integers(1, 4), st.integers(1, 16))
def test_macs_divide_by_groups(cg_in, cg_out, groups, size):
    c_in, c_out = cg_in * groups, cg_out * groups
    assert conv2d_macs(c_in, c_out, 3, size, groups) * groups == conv2d_macs(c_in, c_out, 3, size)


def test_params_match_torch():
    torch = pytest.importorskip("torch")
    for c_in, c_out, k, g, bias in [
        (3, 16, 3, 1, True),
        (32, 32, 3, 32, False),
        (8, 12, 5, 4, True),
    ]:
        conv = torch.nn.Conv2d(c_in, c_out, k, groups=g, bias=bias)
        assert sum(p.numel() for p in conv.parameters()) == conv2d_params(c_in, c_out, k, g, bias)
    assert sum(p.numel() for p in torch.nn.BatchNorm2d(24).parameters()) == batchnorm_params(24)
