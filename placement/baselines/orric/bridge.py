"""ORRIC in the world model: the retraining share and a one-device scenario."""

from __future__ import annotations

import math

from datagen.world import Device, Placement, Scenario
from placement.baselines.orric.instance import _scalar

__all__ = ["retraining_share", "orric_scenario"]




def retraining_share(retrain_cost: float, budget_per_sample: float) -> float:
    r"""Share of the device's compute that retraining takes: :math:`C^T_i / U_t`.

    In slot ``t`` retraining uses :math:`D_{(t)} C^T_i` of the :math:`C_{(t)} = D_{(t)} U_t`
    MAC budget; with the budget being the device's MAC/s over the slot, retraining reserves
    that fraction of its speed.

    Args:
        retrain_cost: :math:`C^T_i` (MAC per sample), ``>= 0``.
        budget_per_sample: :math:`U_t` (MAC per sample), ``> 0``.

    Returns:
        The share, in ``[0, 1)``.

    Raises:
        ValueError: If a cost is negative, the budget is not positive, or the share is
            ``>= 1`` (nothing left for inference).
    """
    c, u = _scalar("retrain_cost", retrain_cost), _scalar("budget_per_sample", budget_per_sample)
    if c < 0:
        raise ValueError(f"retrain_cost must be >= 0, got {c}")
    if u <= 0:
        raise ValueError(f"budget_per_sample must be > 0, got {u}")
    share = c / u
    if share >= 1:
        raise ValueError(
            f"retraining would take all the compute: retrain_cost / budget = {share} >= 1; "
            "pick a cheaper retraining config or raise the budget"
        )
    return share


def orric_scenario(
    resolution: int,
    reserved_share: float,
    *,
    arrival_rate: float,
    device: str | Device = "jetson_nano",
    profile: str = "mobilenet_v2",
    dataset: str = "cifar10",
    capacity: int = 10,
    scv: float = 0.0,
    sla: float = math.inf,
    name: str = "orric",
) -> Scenario:
    """An edge scenario for one ORRIC choice: inference at a resolution next to retraining.

    The device runs the whole model (one fragment) at the chosen input resolution, whose MACs
    set the service demand, while colocated retraining reserves ``reserved_share`` of its
    MAC/s (:func:`retraining_share`), so that the simulator or a surrogate judges the latency
    and loss of the choice under load.

    Args:
        resolution: Input resolution of the inference configuration (32, 28, 24 or 20 for
            ORRIC's CIFAR-10 MobileNetV2).
        reserved_share: Share of the device's compute taken by retraining, in [0, 1).
        arrival_rate: Inference requests per second.
        device: A catalog kind (:func:`datagen.catalog.get_device`) or a Device
            (default: ``"jetson_nano"``).
        profile: Zoo profile name (default: ``"mobilenet_v2"``).
        dataset: Zoo dataset option (default: ``"cifar10"``).
        capacity: Device capacity ``K`` when ``device`` is a kind (default: ``10``).
        scv: Service-time SCV (default: ``0.0``).
        sla: Deadline (s) (default: ``inf``).
        name: Service name (default: ``"orric"``).

    Returns:
        A one-device, one-service :class:`~datagen.world.Scenario`.

    Raises:
        ValueError: On an unknown profile, resolution or device kind, or an invalid share.
    """
    from datagen.catalog import get_device
    from datagen.splitting import make_service
    from datagen.zoo import get_profile

    prof = get_profile(profile, dataset=dataset, resolution=resolution)
    if isinstance(device, Device):
        dev = Device(**{**device.__dict__, "reserved_share": float(reserved_share)})
    else:
        dev = get_device(device, capacity=capacity, reserved_share=float(reserved_share))
    svc = make_service(name, prof, "layer", arrival_rate, sla, k=1, scv=scv)
    return Scenario((dev,), (svc,), Placement({name: (dev.name,)}))
