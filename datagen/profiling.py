r"""Profile any ``torch.nn.Module`` into a :class:`~datagen.world.DNNProfile`.

:func:`profile_module` runs one forward pass of ``example_input`` (in ``eval`` mode, without
gradients) under :class:`torch.utils.flop_counter.FlopCounterMode`, with forward hooks on every
module, and records one layer per leaf-module call, in execution order. Counting follows
:mod:`datagen.layers`, with one MAC per two FLOPs of ``FlopCounterMode``
(:math:`\mathrm{MAC} = \mathrm{FLOP}/2`, the convention of its matmul, convolution and attention
formulas):

- convolutions (any dimension, any ``groups``): :math:`o = N_{out} \cdot (C_{in}/g) \cdot
  \prod_d K_d` where :math:`N_{out}` is the number of output elements; transposed
  convolutions: :math:`o = N_{in} \cdot (C_{out}/g) \cdot \prod_d K_d`;
- linear layers: :math:`o = N_{out} \cdot n_{in}` (applied to every leading position);
- max / average / LP pooling: one operation per window element,
  :math:`o = N_{out} \prod_d K_d` (adaptive pooling: PyTorch's exact window sizes);
- batch / layer / group norm, activations, dropout, flatten, identity: 0 MACs;
- any other leaf: the MACs ``FlopCounterMode`` counts inside it (a warning names leaves that
  hold parameters but count 0 MACs, e.g. ``nn.Embedding``).

A leaf counts the larger of its rule above and what ``FlopCounterMode`` saw inside it (the two
agree on convolutions and linear layers). **Functional operations** that run in a non-leaf
module's own ``forward`` (``q @ k.transpose(-2, -1)``, ``torch.einsum``, ``F.linear``,
``F.scaled_dot_product_attention``, the whole of ``nn.MultiheadAttention``) are counted by
``FlopCounterMode`` and recorded as extra layers named after that module (``"attn"``,
``"attn#2"`` for its next run of functional operations), of kind ``"matmul"``, ``"attention"``
or ``"conv"`` (the operation with most FLOPs), placed in execution order between the leaf
layers around them. Their ``out_elems`` is the tensor that crosses the next module boundary
(the input of the next module called, or the output of the enclosing module), i.e. what a cut
right after them would ship.

Parameters are the leaf's own trainable parameters, counted at its first call only (a module
called twice, e.g. a shared ReLU or a tied layer, does not count its weights twice). A
non-leaf module's own parameters (``nn.MultiheadAttention.in_proj_weight``), and those of
leaves under it that never ran as modules (its ``out_proj``, used through ``F.linear``), count
at its first functional layer. All figures are per sample: the first dimension of
``example_input`` is the batch and is divided out. ``torch`` is imported inside the function
so that ``import datagen`` stays fast.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from datagen.world import DNNProfile, LayerProfile

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["profile_module"]


def _window_sum(size: int, out: int) -> int:
    # PyTorch's adaptive pooling windows: [floor(i*size/out), ceil((i+1)*size/out)).
    return sum(-(-(i + 1) * size // out) - (i * size) // out for i in range(out))


def _tensors(obj: Any) -> list[torch.Tensor]:
    import torch

    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for item in obj for t in _tensors(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _tensors(item)]
    return []


def _spatial_dims(mod: Any) -> int:
    # Pooling classes end in "1d", "2d" or "3d" (MaxPool2d, AdaptiveAvgPool3d, LPPool1d...).
    suffix = type(mod).__name__[-2:]
    return int(suffix[0]) if suffix[1:] == "d" and suffix[0] in "123" else 2


def _as_tuple(value: Any, dims: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * dims
    return tuple(int(v) for v in value)


def _layer_macs(mod: torch.nn.Module, inputs: tuple[Any, ...], output: Any) -> tuple[str, int]:
    """Return ``(kind, MACs for the whole batch)`` of one leaf-module call."""
    from torch import nn

    outs = _tensors(output)
    ins = _tensors(inputs)
    n_out = sum(t.numel() for t in outs)
    if isinstance(mod, nn.modules.conv._ConvTransposeNd):
        k = math.prod(mod.kernel_size)
        n_in = ins[0].numel() if ins else 0
        return "convtranspose", n_in * (mod.out_channels // mod.groups) * k
    if isinstance(mod, nn.modules.conv._ConvNd):
        k = math.prod(mod.kernel_size)
        depthwise = mod.groups > 1 and mod.groups == mod.in_channels == mod.out_channels
        return ("dwconv" if depthwise else "conv"), n_out * (mod.in_channels // mod.groups) * k
    if isinstance(mod, nn.Linear):
        return "linear", n_out * mod.in_features
    if isinstance(mod, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
                        nn.modules.pooling._LPPoolNd)):  # fmt: skip
        dims = _spatial_dims(mod)
        kind = "maxpool" if isinstance(mod, nn.modules.pooling._MaxPoolNd) else "avgpool"
        return kind, n_out * math.prod(_as_tuple(mod.kernel_size, dims))
    adaptive = (
        nn.modules.pooling._AdaptiveAvgPoolNd,
        nn.modules.pooling._AdaptiveMaxPoolNd,
    )
    if isinstance(mod, adaptive) and ins and outs:
        x, y = ins[0], outs[0]
        dims = _spatial_dims(mod)
        in_sizes, out_sizes = x.shape[-dims:], y.shape[-dims:]
        per_plane = math.prod(_window_sum(int(a), int(b)) for a, b in zip(in_sizes, out_sizes))
        planes = y.numel() // max(1, math.prod(int(s) for s in out_sizes))
        kind = "avgpool" if isinstance(mod, nn.modules.pooling._AdaptiveAvgPoolNd) else "maxpool"
        return kind, planes * per_plane
    if isinstance(mod, nn.modules.batchnorm._NormBase):
        return "batchnorm", 0
    return type(mod).__name__.lower(), 0


def _functional_kind(op_flops: dict[str, int]) -> str:
    """Kind of a run of functional operations: that of its operation with most FLOPs."""
    top = max(op_flops, key=lambda op: op_flops[op])
    if "attention" in top:
        return "attention"
    return "conv" if "conv" in top else "matmul"


def _flop_counter() -> Any:
    """A silent ``FlopCounterMode`` that also counts PyTorch's CPU flash attention.

    ``F.scaled_dot_product_attention`` runs ``_scaled_dot_product_flash_attention_for_cpu`` on
    CPU, which ``FlopCounterMode`` leaves out; it gets the formula of the GPU kernels.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    def cpu_flash_flops(q: Any, k: Any, v: Any, *args: Any, **kwargs: Any) -> int:
        # called with the shapes of the op's arguments, as the registered formulas are
        return int(sdpa_flop_count(q, k, v))

    extra = {}
    cpu_flash = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if cpu_flash is not None:
        extra[cpu_flash] = cpu_flash_flops
    return FlopCounterMode(display=False, custom_mapping=extra)


class _Entry:
    """One layer being recorded (:class:`~datagen.world.LayerProfile` is built at the end)."""

    __slots__ = ("name", "kind", "macs", "params", "out_elems", "owner")

    def __init__(self, name: str, kind: str, macs: int, out_elems: int, owner: Any) -> None:
        self.name, self.kind, self.macs, self.out_elems = name, kind, macs, out_elems
        self.params = 0
        self.owner = owner  # the module whose forward ran it


def profile_module(
    module: torch.nn.Module,
    example_input: torch.Tensor,
    *,
    name: str | None = None,
    accuracy: float = 1.0,
    bytes_per_elem: int = 4,
) -> DNNProfile:
    r"""Profile a PyTorch module by running ``example_input`` through it once.

    MACs come from the rules of :mod:`datagen.profiling` and from
    :class:`torch.utils.flop_counter.FlopCounterMode` (:math:`\mathrm{MAC} =
    \mathrm{FLOP}/2`), so functional matmuls, einsum and attention count too. The first call
    in a process takes ~2 s more: the counter imports ``torch._dynamo``.

    Args:
        module: The network. It is put in ``eval`` mode for the pass and restored after.
        example_input: An input batch; dimension 0 is the batch and is divided out.
        name: Profile name (default: ``None`` = the module's class name).
        accuracy: Accuracy to record in [0, 1] (default: ``1.0``, i.e. unknown).
        bytes_per_elem: Bytes per weight and activation element (default: ``4``).

    Returns:
        A profile with one layer per leaf-module call in execution order (named by the
        module's qualified name, ``name#2`` for a second call) plus one layer per run of
        functional operations in a non-leaf module's ``forward`` (named by that module), with
        per-sample MACs (MAC) and output elements, the parameters (count) and
        ``input_elems`` per sample.

    Shapes:
        - ``example_input``: :math:`(B, *)`, any trailing shape the module accepts.

    Raises:
        ValueError: If ``module`` is not an ``nn.Module``, ``example_input`` is not a tensor
            with a batch dimension, or the forward pass calls no leaf module and counts no
            operation.

    Example:
        >>> import torch
        >>> p = profile_module(torch.nn.Linear(784, 512, bias=False), torch.zeros(1, 784))
        >>> p.total_macs, p.total_params
        (401408, 401408)
    """
    import torch
    from torch import nn

    if not isinstance(module, nn.Module):
        raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(example_input, torch.Tensor) or example_input.dim() < 2:
        raise ValueError(
            "example_input must be a tensor with a batch dimension first (e.g. shape "
            f"(1, 3, 224, 224)), got {getattr(example_input, 'shape', type(example_input))}"
        )
    batch = int(example_input.shape[0])
    if batch < 1:
        raise ValueError(f"example_input must hold at least one sample, got batch size {batch}")

    named = list(module.named_modules())
    qualname = {id(m): (q or type(m).__name__) for q, m in named}
    counter = _flop_counter()
    entries: list[_Entry] = []
    calls: dict[int, int] = {}  # per module: leaf calls, or runs of functional operations
    stack: list[nn.Module] = []  # the non-leaf modules whose forward is running
    leaf_start: list[int] = []  # FLOPs counted when each running leaf started
    seen = {"flops": 0}  # FLOPs already attributed to a layer
    seen_ops: dict[str, int] = {}

    def elems(obj: Any) -> int:
        return max(1, sum(t.numel() for t in _tensors(obj)) // batch)

    def next_name(mod: nn.Module) -> str:
        count = calls.get(id(mod), 0) + 1
        calls[id(mod)] = count
        return qualname[id(mod)] + (f"#{count}" if count > 1 else "")

    def sync() -> dict[str, int]:
        """Mark every FLOP counted so far as attributed; return the per-op FLOPs added."""
        ops = {str(k): v for k, v in counter.get_flop_counts().get("Global", {}).items()}
        added = {k: v - seen_ops.get(k, 0) for k, v in ops.items() if v > seen_ops.get(k, 0)}
        seen_ops.clear()
        seen_ops.update(ops)
        seen["flops"] = counter.get_total_flops()
        return added

    def flush(boundary: Any) -> None:
        # FLOPs counted since the last boundary ran in the innermost running module's forward
        # (inside a leaf they are the leaf's own: leaf_leave takes them)
        if leaf_start or counter.get_total_flops() == seen["flops"]:
            return
        added = sync()
        if not stack or not added:
            return
        owner = stack[-1]
        kind, macs = _functional_kind(added), sum(added.values()) // 2
        entries.append(_Entry(next_name(owner), kind, macs, elems(boundary), owner))

    def enter(mod: nn.Module, inputs: tuple[Any, ...]) -> None:
        flush(inputs)
        stack.append(mod)

    def leave(mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        flush(output)
        stack.pop()

    def leaf_enter(mod: nn.Module, inputs: tuple[Any, ...]) -> None:
        flush(inputs)
        leaf_start.append(counter.get_total_flops())

    def leaf_leave(mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        counted = counter.get_total_flops() - leaf_start.pop()
        sync()
        kind, macs = _layer_macs(mod, inputs, output)
        first = id(mod) not in calls
        entry = _Entry(next_name(mod), kind, max(macs, counted // 2), elems(output), mod)
        if first:
            entry.params = sum(p.numel() for p in mod.parameters(recurse=False))
        entries.append(entry)

    handles = []
    for _, m in named:
        if next(m.children(), None) is None:
            handles.append(m.register_forward_pre_hook(leaf_enter))
            handles.append(m.register_forward_hook(leaf_leave))
        else:
            handles.append(m.register_forward_pre_hook(enter))
            handles.append(m.register_forward_hook(leave))
    was_training = module.training
    # nn.MultiheadAttention's inference fast path is one fused op FlopCounterMode cannot see
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        module.eval()
        torch.backends.mha.set_fastpath_enabled(False)
        with torch.no_grad(), counter:
            module(example_input)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for handle in handles:
            handle.remove()
        module.train(was_training)
    if not entries:
        raise ValueError(
            f"the forward pass of {type(module).__name__} called no leaf module and counted no "
            "operation; nothing to profile"
        )
    _attribute_functional_params(module, entries)
    no_rule = [
        e.name
        for e in entries
        if e.params and e.macs == 0 and next(e.owner.children(), None) is None
        and not isinstance(e.owner, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm))
    ]  # fmt: skip
    if no_rule:
        warnings.warn(
            f"no MAC rule for leaf modules with parameters {no_rule}; their MACs count as 0",
            stacklevel=2,
        )
    return DNNProfile(
        name=name or type(module).__name__,
        layers=tuple(
            LayerProfile(
                name=e.name,
                kind=e.kind,
                macs=e.macs // batch,
                params=e.params,
                out_elems=e.out_elems,
                bytes_per_elem=bytes_per_elem,
            )
            for e in entries
        ),
        accuracy=accuracy,
        input_elems=example_input.numel() // batch,
    )


def _attribute_functional_params(module: torch.nn.Module, entries: list[_Entry]) -> None:
    """Give each module's first functional layer its own parameters and unused leaves' ones.

    ``nn.MultiheadAttention`` holds ``in_proj_weight`` itself and calls its ``out_proj``
    through ``F.linear``: neither shows up as a leaf call, yet both are its weights.
    """
    ran = {id(e.owner) for e in entries if next(e.owner.children(), None) is None}
    first: dict[int, _Entry] = {}
    for e in entries:
        if next(e.owner.children(), None) is not None:
            first.setdefault(id(e.owner), e)
    if not first:
        return
    # weights of the leaves that ran are counted already (at their first call)
    counted = {id(p) for m in module.modules() if id(m) in ran for p in m.parameters(False)}

    def visit(mod: torch.nn.Module, owner: _Entry | None) -> None:
        owner = first.get(id(mod), owner)
        is_leaf = next(mod.children(), None) is None
        if owner is not None and not (is_leaf and id(mod) in ran):
            for p in mod.parameters(recurse=False):
                if id(p) not in counted:
                    counted.add(id(p))
                    owner.params += p.numel()
        for child in mod.children():
            visit(child, owner)

    visit(module, None)
