r"""Profile any ``torch.nn.Module`` into a :class:`~datagen.world.DNNProfile` with forward hooks.

:func:`profile_module` runs one forward pass of ``example_input`` (in ``eval`` mode, without
gradients) with a forward hook on every leaf module, and records one layer per leaf-module
call, in execution order. Counting follows :mod:`datagen.layers`:

- convolutions (any dimension, any ``groups``): :math:`o = N_{out} \cdot (C_{in}/g) \cdot
  \prod_d K_d` where :math:`N_{out}` is the number of output elements; transposed
  convolutions: :math:`o = N_{in} \cdot (C_{out}/g) \cdot \prod_d K_d`;
- linear layers: :math:`o = N_{out} \cdot n_{in}` (applied to every leading position);
- max / average / LP pooling: one operation per window element,
  :math:`o = N_{out} \prod_d K_d` (adaptive pooling: PyTorch's exact window sizes);
- batch / layer / group norm, activations, dropout, flatten, identity and any other leaf:
  0 MACs (a warning names leaves that hold parameters but have no MAC rule).

Parameters are the leaf's own trainable parameters, counted at its first call only (a module
called twice, e.g. a shared ReLU or a tied layer, does not count its weights twice). All
figures are per sample: the first dimension of ``example_input`` is the batch and is divided
out. ``torch`` is imported inside the function so that ``import datagen`` stays fast.
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


def profile_module(
    module: torch.nn.Module,
    example_input: torch.Tensor,
    *,
    name: str | None = None,
    accuracy: float = 1.0,
    bytes_per_elem: int = 4,
) -> DNNProfile:
    """Profile a PyTorch module by running ``example_input`` through it once.

    Args:
        module: The network. It is put in ``eval`` mode for the pass and restored after.
        example_input: An input batch; dimension 0 is the batch and is divided out.
        name: Profile name (default: ``None`` = the module's class name).
        accuracy: Accuracy to record in [0, 1] (default: ``1.0``, i.e. unknown).
        bytes_per_elem: Bytes per weight and activation element (default: ``4``).

    Returns:
        A profile with one layer per leaf-module call in execution order (named by the
        module's qualified name, ``name#2`` for a second call), per-sample MACs and output
        elements, the leaf's parameters, and ``input_elems`` per sample.

    Raises:
        ValueError: If ``module`` is not an ``nn.Module``, ``example_input`` is not a tensor
            with a batch dimension, or the forward pass calls no leaf module.

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

    leaves = [(q, m) for q, m in module.named_modules() if next(m.children(), None) is None]
    records: list[LayerProfile] = []
    calls: dict[int, int] = {}
    no_rule: list[str] = []

    def make_hook(qname: str) -> Any:
        def hook(mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            count = calls.get(id(mod), 0)
            calls[id(mod)] = count + 1
            kind, macs = _layer_macs(mod, inputs, output)
            params = 0
            if count == 0:
                params = sum(p.numel() for p in mod.parameters(recurse=False))
                if params and macs == 0 and kind not in ("batchnorm",) and not isinstance(
                    mod, (nn.LayerNorm, nn.GroupNorm)
                ):
                    no_rule.append(qname or type(mod).__name__)
            out_elems = sum(t.numel() for t in _tensors(output)) // batch
            layer_name = qname or type(mod).__name__
            if count:
                layer_name = f"{layer_name}#{count + 1}"
            records.append(
                LayerProfile(
                    name=layer_name,
                    kind=kind,
                    macs=macs // batch,
                    params=params,
                    out_elems=max(1, out_elems),
                    bytes_per_elem=bytes_per_elem,
                )
            )

        return hook

    handles = [m.register_forward_hook(make_hook(q)) for q, m in leaves]
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(example_input)
    finally:
        for handle in handles:
            handle.remove()
        module.train(was_training)
    if not records:
        raise ValueError(
            f"the forward pass of {type(module).__name__} called no leaf module; nothing to profile"
        )
    if no_rule:
        warnings.warn(
            f"no MAC rule for leaf modules with parameters {no_rule}; their MACs count as 0",
            stacklevel=2,
        )
    return DNNProfile(
        name=name or type(module).__name__,
        layers=tuple(records),
        accuracy=accuracy,
        input_elems=example_input.numel() // batch,
    )
