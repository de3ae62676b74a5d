import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from datagen.profiling import profile_module  # noqa: E402
from datagen.zoo import get_profile  # noqa: E402


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),  # 3*8*9*32*32 = 221,184 MAC; 3*8*9 + 8 = 224 params
        nn.BatchNorm2d(8),  # 0 MAC; 16 params
        nn.ReLU(),
        nn.MaxPool2d(2),  # 8*16*16 outputs x 4 = 8,192
        nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),  # depthwise: 2048 x 9 = 18,432; 72
        nn.Conv2d(8, 16, 1),  # 16*16*16 x 8 = 32,768; 8*16 + 16 = 144
        nn.AdaptiveAvgPool2d(1),  # 16 outputs x 256 = 4,096
        nn.Flatten(),
        nn.Linear(16, 10),  # 160; 170
    )


def test_hand_computed_cnn_matches_exactly():
    p = profile_module(small_cnn(), torch.zeros(1, 3, 32, 32), name="tiny", accuracy=0.5)
    assert [layer.kind for layer in p.layers] == [
        "conv", "batchnorm", "relu", "maxpool", "dwconv", "conv", "avgpool", "flatten", "linear",
    ]  # fmt: skip
    assert [layer.macs for layer in p.layers] == [
        221_184,
        0,
        0,
        8_192,
        18_432,
        32_768,
        4_096,
        0,
        160,
    ]
    assert [layer.params for layer in p.layers] == [224, 16, 0, 0, 72, 144, 0, 0, 170]
    assert [layer.out_elems for layer in p.layers] == [
        8192,
        8192,
        8192,
        2048,
        2048,
        4096,
        16,
        16,
        10,
    ]
    assert p.total_macs == 284_832
    assert p.total_params == 626
    assert p.input_elems == 3 * 32 * 32
    assert (p.name, p.accuracy) == ("tiny", 0.5)
    assert [layer.name for layer in p.layers][:2] == ["0", "1"]


def test_batch_is_divided_out():
    a = profile_module(small_cnn(), torch.zeros(1, 3, 32, 32))
    b = profile_module(small_cnn(), torch.zeros(4, 3, 32, 32))
    assert a.layers == b.layers
    assert a.input_elems == b.input_elems


def test_train_mode_restored_and_no_grad():
    net = small_cnn().train()
    profile_module(net, torch.zeros(2, 3, 32, 32))
    assert net.training
    assert all(p.grad is None for p in net.parameters())
    net.eval()
    profile_module(net, torch.zeros(1, 3, 32, 32))
    assert not net.training
    # hooks are removed
    assert all(not m._forward_hooks for m in net.modules())


class Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(self.act(self.fc(x))))


def test_shared_module_counts_weights_once():
    p = profile_module(Shared(), torch.zeros(1, 4))
    assert [layer.name for layer in p.layers] == ["fc", "act", "fc#2", "act#2"]
    assert p.total_params == 20
    assert p.total_macs == 32
    assert p.name == "Shared"


def test_other_layer_types():
    net = nn.Sequential(
        nn.Conv1d(2, 4, 3),  # out 4 x 8 = 32 elems x (2*3) = 192
        nn.AvgPool1d(2),  # 4 x 4 = 16 outputs x 2 = 32
        nn.Flatten(),
        nn.Linear(16, 3, bias=False),  # 48
    )
    p = profile_module(net, torch.zeros(1, 2, 10))
    assert [layer.macs for layer in p.layers] == [192, 32, 0, 48]
    up = profile_module(nn.ConvTranspose2d(4, 2, 2, stride=2), torch.zeros(1, 4, 3, 3))
    assert up.total_macs == 4 * 9 * 2 * 4  # input elems x C_out x K
    assert up.layers[0].kind == "convtranspose"
    seq = profile_module(nn.Linear(8, 5), torch.zeros(2, 7, 8))  # 7 positions per sample
    assert seq.total_macs == 7 * 8 * 5


def test_matches_zoo_splitplace_mnist():
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10),
    )  # fmt: skip
    p = profile_module(net, torch.zeros(1, 1, 28, 28))
    z = get_profile("splitplace_mnist")
    assert (p.total_macs, p.total_params, p.input_elems) == (z.total_macs, z.total_params, 784)


def test_matches_zoo_qpart_mlp():
    widths = (784, 512, 256, 128, 64, 32, 10)
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b, bias=False), nn.ReLU()]
    p = profile_module(nn.Sequential(*layers[:-1]), torch.zeros(1, 784))
    z = get_profile("qpart_mlp")
    assert [x.macs for x in p.layers if x.kind == "linear"] == [x.macs for x in z.layers]
    assert p.total_params == z.total_params


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + (x if self.down is None else self.down(x)))


def resnet18_torch() -> nn.Module:
    blocks = []
    c = 64
    for stage, width in enumerate((64, 128, 256, 512)):
        for i in range(2):
            stride = 2 if stage > 0 and i == 0 else 1
            blocks.append(BasicBlock(c, width, stride))
            c = width
    return nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(3, 2, 1), *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000),
    )  # fmt: skip


def test_matches_zoo_resnet18():
    p = profile_module(resnet18_torch(), torch.zeros(1, 3, 64, 64))
    z = get_profile("resnet18", resolution=64)
    assert (p.total_macs, p.total_params) == (z.total_macs, z.total_params)
    assert p.layers[-1].out_elems == 1000


def test_warns_on_leaf_without_mac_rule():
    net = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2))
    with pytest.warns(UserWarning, match=r"no MAC rule for leaf modules with parameters \['0'\]"):
        p = profile_module(net, torch.zeros(1, 3, dtype=torch.long))
    assert p.total_params == 40 + 26


def test_errors():
    with pytest.raises(ValueError, match="module must be a torch.nn.Module"):
        profile_module(lambda x: x, torch.zeros(1, 3))
    with pytest.raises(ValueError, match="example_input must be a tensor with a batch dimension"):
        profile_module(nn.Linear(3, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="example_input must hold at least one sample"):
        profile_module(nn.Linear(3, 2), torch.zeros(0, 3))

    class Empty(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.unused = nn.Linear(2, 2)

        def forward(self, x):
            return x

    with pytest.raises(ValueError, match="called no leaf module"):
        profile_module(Empty(), torch.zeros(1, 2))


class SelfAttention(nn.Module):
    """A ViT-style self-attention block: the ``q @ k`` and ``a @ v`` products are functional."""

    def __init__(self, dim: int = 256, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, n, d))


def test_self_attention_counts_functional_matmuls():
    from torch.utils.flop_counter import FlopCounterMode

    n, d = 196, 256  # 14x14 patches, width 256
    block = SelfAttention(d)
    p = profile_module(block, torch.zeros(2, n, d))
    # qkv: n*d*3d; q @ k and a @ v: 2*n*n*d; proj: n*d*d  (51.4M MACs before, linears only)
    assert [(x.name, x.kind, x.macs) for x in p.layers] == [
        ("qkv", "linear", n * d * 3 * d),
        ("SelfAttention", "matmul", 2 * n * n * d),
        ("proj", "linear", n * d * d),
    ]
    assert p.total_macs == 71_049_216
    assert p.layers[1].out_elems == n * d  # the tensor entering proj
    assert p.total_params == (d * 3 * d + 3 * d) + (d * d + d)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        block(torch.zeros(1, n, d))
    assert p.total_macs == counter.get_total_flops() // 2


def test_multihead_attention_and_sdpa_count():
    import torch.nn.functional as F

    n, d, h = 10, 16, 2
    expected = 4 * n * d * d + 2 * n * n * d  # in_proj (3 n d^2) + out_proj + q@k + a@v

    class Wrapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(d, h, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x, need_weights=False)[0]

    net = Wrapped()
    p = profile_module(net, torch.zeros(1, n, d))  # no module call inside: out_proj is F.linear
    assert [(x.name, x.macs) for x in p.layers] == [("attn", expected)]
    assert p.total_params == sum(q.numel() for q in net.parameters())
    assert p.layers[0].out_elems == n * d
    assert torch.backends.mha.get_fastpath_enabled()  # restored

    class Sdpa(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(d, 3 * d, bias=False)

        def forward(self, x):
            q, k, v = self.qkv(x).reshape(1, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
            return F.scaled_dot_product_attention(q, k, v)

    s = profile_module(Sdpa(), torch.zeros(1, n, d))
    assert [(x.kind, x.macs) for x in s.layers] == [("linear", 3 * n * d * d),
                                                    ("attention", 2 * n * n * d)]  # fmt: skip


def test_einsum_counts():
    class Bilinear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(8, 8)

        def forward(self, x):
            return torch.einsum("bij,bjk->bik", self.lin(x), x.transpose(1, 2))

    p = profile_module(Bilinear(), torch.zeros(3, 5, 8))
    assert [(x.name, x.kind, x.macs, x.out_elems) for x in p.layers] == [
        ("lin", "linear", 5 * 8 * 8, 40),
        ("Bilinear", "matmul", 5 * 8 * 5, 25),
    ]


@pytest.mark.parametrize("module", ["profiling", "zoo", "splitting", "catalog", "layers"])
def test_no_top_level_torch_import(module):
    # datagen must import fast: torch is imported inside profile_module only.
    import ast
    import importlib

    source = importlib.import_module(f"datagen.{module}").__file__
    tree = ast.parse(open(source).read())
    for node in tree.body:  # top-level statements only (TYPE_CHECKING blocks are `if`)
        if isinstance(node, ast.Import):
            assert all(not a.name.startswith("torch") for a in node.names)
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith("torch")
