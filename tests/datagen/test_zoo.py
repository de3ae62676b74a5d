"""Zoo totals against published figures.

ORRIC comparison (``specs/analytical.md`` section 1.8, M MACs at 32 / 28 / 24 / 20):
MobileNetV2 7.94 / 7.45 / 6.71 / 6.35 vs ours 7.939 / 7.447 / 6.707 / 6.347; ResNet-50
86.37 / 82.01 / 68.96 / 65.76 vs ours 86.28 / 81.93 / 68.89 / 65.70 (torchvision ImageNet
models on resized CIFAR images, batch norm unfolded at 4 ops per element).
"""

import pytest

from datagen.world import DNNProfile
from datagen.zoo import get_profile, list_profiles

NAMES = [
    "mobilenet_v2",
    "qpart_mlp",
    "resnet18",
    "resnet34",
    "resnet50",
    "splitplace_cifar100",
    "splitplace_fashionmnist",
    "splitplace_mnist",
    "vgg16",
]


def test_list_profiles():
    assert list_profiles() == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_profile_builds(name):
    p = get_profile(name)
    assert isinstance(p, DNNProfile)
    assert p.name == name
    assert 0 < p.accuracy <= 1
    assert p.input_elems > 0
    assert all(layer.bytes_per_elem == 4 for layer in p.layers)
    assert p.total_macs > 0


# ---- published totals (within 3%) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "gmac", "mparams"),
    [
        ("resnet50", 4.1, 25.6),
        ("mobilenet_v2", 0.30, 3.5),
        ("vgg16", 15.5, 138.0),
        ("resnet18", 1.8, 11.7),
        ("resnet34", 3.6, 21.8),
    ],
)
def test_published_totals_within_3_percent(name, gmac, mparams):
    p = get_profile(name)
    assert p.total_macs / 1e9 == pytest.approx(gmac, rel=0.03)
    assert p.total_params / 1e6 == pytest.approx(mparams, rel=0.03)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("resnet18", 11_689_512),
        ("resnet34", 21_797_672),
        ("resnet50", 25_557_032),
        ("vgg16", 138_357_544),
        ("mobilenet_v2", 3_504_872),
    ],
)
def test_parameter_counts_equal_torchvision(name, params):
    assert get_profile(name).total_params == params


def test_golden_macs():
    # Conv + linear MACs (+ pooling windows); regressions guard.
    assert get_profile("resnet50").total_macs == 4_091_090_944
    assert get_profile("vgg16").total_macs == 15_476_410_880
    assert get_profile("mobilenet_v2").total_macs == 300_836_992


def test_residual_nets_are_listed_by_block():
    names = [layer.name for layer in get_profile("resnet50").layers]
    assert names[:3] == ["conv1", "maxpool", "layer1.0"]
    assert names[-2:] == ["avgpool", "fc"]
    assert len(names) == 2 + 16 + 2
    assert len(get_profile("mobilenet_v2")) == 1 + 17 + 1 + 2
    assert {layer.kind for layer in get_profile("resnet18").layers} == {
        "conv",
        "maxpool",
        "basic",
        "avgpool",
        "linear",
    }


def test_output_elements_follow_shapes():
    p = get_profile("resnet50")
    assert p.layers[0].out_elems == 64 * 112 * 112
    assert p.layers[1].out_elems == 64 * 56 * 56
    assert p.layers[-1].out_elems == 1000
    assert p.input_elems == 3 * 224 * 224


def test_resolution_and_classes_options():
    p = get_profile("resnet18", resolution=112, num_classes=10)
    assert p.layers[-1].out_elems == 10
    assert p.total_macs < get_profile("resnet18").total_macs / 3.5
    assert get_profile("vgg16", resolution=32).total_params == 138_357_544


def test_bytes_per_elem_option():
    p = get_profile("qpart_mlp", bytes_per_elem=1)
    assert p.weight_bytes == p.total_params


# ---- ORRIC setting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("res", "mmacs", "acc"),
    [(32, 7.94, 0.7957), (28, 7.45, 0.7329), (24, 6.71, 0.5938), (20, 6.35, 0.4493)],
)
def test_mobilenet_v2_cifar10_matches_orric_table(res, mmacs, acc):
    p = get_profile("mobilenet_v2", dataset="cifar10", resolution=res)
    assert p.total_macs / 1e6 == pytest.approx(mmacs, rel=0.005)
    assert p.accuracy == acc
    assert p.name == f"mobilenet_v2_cifar10_{res}"
    assert p.input_elems == 3 * res * res


@pytest.mark.parametrize(("res", "mmacs"), [(32, 86.37), (28, 82.01), (24, 68.96), (20, 65.76)])
def test_resnet50_cifar10_matches_orric_table(res, mmacs):
    p = get_profile("resnet50", dataset="cifar10", resolution=res)
    assert p.total_macs / 1e6 == pytest.approx(mmacs, rel=0.005)


def test_orric_macs_ordering_and_default_resolution():
    macs = [
        get_profile("mobilenet_v2", dataset="cifar10", resolution=r).total_macs
        for r in (20, 24, 28, 32)
    ]
    assert macs == sorted(macs)
    assert get_profile("mobilenet_v2", dataset="cifar10").name.endswith("_32")


def test_fold_bn_option():
    folded = get_profile("mobilenet_v2", dataset="cifar10", num_classes=10, fold_bn=True)
    assert folded.total_macs == 6_126_208
    unfolded = get_profile("resnet18", fold_bn=False)
    assert unfolded.total_macs > get_profile("resnet18").total_macs
    assert unfolded.total_params == get_profile("resnet18").total_params


# ---- QPART and SplitPlace ---------------------------------------------------------------------


def test_qpart_mlp_matches_spec_q3():
    p = get_profile("qpart_mlp")
    assert tuple(layer.macs for layer in p.layers) == (401408, 131072, 32768, 8192, 2048, 320)
    assert tuple(layer.params for layer in p.layers) == (401408, 131072, 32768, 8192, 2048, 320)
    assert tuple(layer.out_elems for layer in p.layers) == (512, 256, 128, 64, 32, 10)
    assert p.input_elems == 784
    assert p.accuracy == 0.9619


@pytest.mark.parametrize(
    ("name", "acc", "sem"),
    [
        ("splitplace_mnist", 0.975, 0.957),
        ("splitplace_fashionmnist", 0.957, 0.917),
        ("splitplace_cifar100", 0.980, 0.940),
    ],
)
def test_splitplace_profiles(name, acc, sem):
    p = get_profile(name)
    assert (p.accuracy, p.semantic_accuracy, p.semantic_macs_fraction) == (acc, sem, 0.36)
    by_name = {layer.name: layer for layer in p.layers}
    assert by_name["conv2"].macs / p.total_macs == pytest.approx(0.88, abs=0.01)
    assert by_name["fc1"].params / p.total_params == pytest.approx(0.98, abs=0.01)


def test_splitplace_mnist_is_the_classic_pytorch_example():
    p = get_profile("splitplace_mnist")
    assert [layer.macs for layer in p.layers] == [194_688, 10_616_832, 36_864, 1_179_648, 1_280]
    assert p.total_params == 1_199_882


# ---- errors ------------------------------------------------------------------------------------


def test_unknown_name_lists_known():
    with pytest.raises(
        ValueError, match=r"unknown DNN profile 'alexnet'; known profiles: \['mobilenet_v2'"
    ):
        get_profile("alexnet")


def test_unknown_option():
    with pytest.raises(
        ValueError, match=r"unknown option\(s\) \['depth'\] for profile 'resnet50'; accepted"
    ):
        get_profile("resnet50", depth=3)
    with pytest.raises(ValueError, match="accepted: \\['bytes_per_elem'\\]"):
        get_profile("qpart_mlp", resolution=32)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resolution": 0}, "resolution must be a positive integer"),
        ({"num_classes": 2.5}, "num_classes must be a positive integer"),
        ({"fold_bn": 1}, "fold_bn must be True or False"),
        ({"dataset": "svhn"}, "dataset must be 'imagenet' or 'cifar10'"),
        ({"dataset": "cifar10", "resolution": 64}, r"resolution must be one of \[20, 24, 28, 32\]"),
    ],
)
def test_bad_option_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_profile("mobilenet_v2", **kwargs)


def test_too_small_input_is_rejected():
    with pytest.raises(ValueError, match="does not fit input size"):
        get_profile("vgg16", resolution=16)
