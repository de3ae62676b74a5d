r"""QPART: joint layer-wise quantization and partitioning for accuracy-aware edge inference.

Source: Li, Ghafouri, Ji, Vandierendonck, John, Nikolopoulos, "QPART: Adaptive Model
Quantization and Dynamic Workload Balancing for Accuracy-aware Edge Inference", arXiv
2506.23934. Noise model: Zhou et al., "Adaptive Quantization for Deep Neural Network", AAAI 2018.
Equation numbers are the paper's; the equation bodies were reconstructed in
``shared/specs/analytical.md`` section 2.

One concept per module (every public name is re-exported here):

* :mod:`~placement.baselines.qpart.params`: the network arrays and the parameters (Table II).
* :mod:`~placement.baselines.qpart.quantization`: the uniform quantizer, eqs. (9)-(10).
* :mod:`~placement.baselines.qpart.channel`: fading, SNR and capacity, eqs. (11)-(13).
* :mod:`~placement.baselines.qpart.cost`: compute, payload and the objective, eqs. (1)-(8),
  (14)-(17), (24)-(26).
* :mod:`~placement.baselines.qpart.bits`: the noise measure and closed-form bits, eqs. (23), (27),
  (40).
* :mod:`~placement.baselines.qpart.selection`: Algorithm 1 (pattern table) and Algorithm 2
  (online choice, with sampled fading).
* :mod:`~placement.baselines.qpart.bridge`: the 6-FC profile and a world-model scenario.
* :mod:`~placement.baselines.qpart.calibration`: the noise calibration on a torch model (the only
  module that needs torch, imported lazily).

Conventions (spec section 5 open points, decided here, each a parameter where it matters):

* **Partition index base.** ``p`` is the number of layers on the device: layers ``1..p`` run on
  the device and ``p+1..L`` on the server (``convention="through_p"``, the spec's choice).
  ``convention="before_p"`` reads ``p`` as the published review does (device runs ``1..p-1``).
  Algorithm 1 tabulates every ``p`` in ``0..L``: ``p = 0`` is "all on the server" and ``p = L``
  "all on the device".
* **Downlink in** :math:`E^{tx}`. Default ``tx_energy="total"``: :math:`E^{tx}=P\,T^{tx}` counts
  weights and activation (oracle Q3); ``"uplink"`` counts only the activation upload.
* **Shared bit width.** Weights and output activation of layer ``i`` share ``b_i``.
* **Eq. (22), robustness** :math:`t_i`. Estimator (a) of spec 2.3 (noise energy over its energy
  along the adversarial direction).
* **Unknown constants.** :math:`\kappa_d=10^{-27}`, :math:`\mu=1`, :math:`\omega_C=1` and the
  6-FC widths 784-512-256-128-64-32-10 (oracle Q3's assumptions).
"""

# ruff: noqa: F401 (the imports are the re-exports; __all__ is built from the modules' lists)
from __future__ import annotations

import placement.baselines.qpart.bits as _bits
import placement.baselines.qpart.bridge as _bridge
import placement.baselines.qpart.calibration as _calibration
import placement.baselines.qpart.channel as _channel
import placement.baselines.qpart.cost as _cost
import placement.baselines.qpart.params as _params
import placement.baselines.qpart.quantization as _quantization
import placement.baselines.qpart.selection as _selection
from placement.baselines.qpart.bits import (
    noise_measure,
    optimal_bits,
    round_bits,
    sequential_bits,
)
from placement.baselines.qpart.bridge import (
    get_qpart_profile,
    layer_arrays,
    qpart_devices,
    qpart_mlp_profile,
    qpart_scenario,
)
from placement.baselines.qpart.calibration import (
    NoiseCalibration,
    build_qpart_mlp,
    calibrate_budgets,
    calibrate_noise,
    logit_noise_energy,
    quantized_accuracy,
    synthetic_dataset,
    train_qpart_mlp,
)
from placement.baselines.qpart.channel import (
    ChannelState,
    sample_channel_gain,
    shannon_rate,
)
from placement.baselines.qpart.cost import (
    Payload,
    QPARTCost,
    SegmentMACs,
    conv_macs,
    device_layer_count,
    evaluate_partition,
    linear_macs,
    local_cost,
    local_energy,
    local_time,
    payload_sizes,
    payload_weights,
    segment_macs,
    server_cost,
    server_side_cost,
    server_time,
    transmission,
    transmission_cost,
)
from placement.baselines.qpart.params import (
    ALPHA,
    QPART_MLP_WIDTHS,
    Convention,
    LayerArrays,
    QPARTParams,
)
from placement.baselines.qpart.quantization import (
    QuantGrid,
    quantization_grid,
    quantize,
)
from placement.baselines.qpart.selection import (
    OnlineDecisions,
    PatternTable,
    QPARTDecision,
    offline_patterns,
    online_partitions,
    select_partition,
)

# One list per module: each module's ``__all__`` names its public names, all re-exported here.
__all__ = (
    _params.__all__
    + _quantization.__all__
    + _channel.__all__
    + _cost.__all__
    + _bits.__all__
    + _selection.__all__
    + _bridge.__all__
    + _calibration.__all__
)
