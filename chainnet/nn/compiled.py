r"""A compiled forward pass of :class:`~chainnet.nn.stacked.StackedChainNet` for small inputs.

At batch 1 (one scenario of a few services), the stacked pass spends most of its time in
framework overhead: about 200 tensor operations of a few microseconds each on tensors of a
few dozen rows. :func:`compiled_forward` runs the same math in one numba kernel, member by
member and row by row, in float32 without reassociation (products accumulate four input
channels at a time, in input order; the GRU gates' exponentials come from a vectorised
polynomial of about 1 ulp), so the result is the same on any x86-64 CPU. Its predictions
agree with the stacked pass to float32 rounding (a few 1e-7; the stacked pass's products
accumulate in another order); the stacked pass stays the reference, and
:class:`StackedChainNet` uses this kernel only for inputs of at most
:attr:`StackedChainNet.compiled_max_rows` node rows.

The weights are copied once per :class:`StackedChainNet` into float32 numpy arrays
(:class:`CompiledWeights`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numba
import numpy as np
import torch
from torch import Tensor

from chainnet.typing import NodeType

if TYPE_CHECKING:
    from chainnet.nn.stacked import GraphTensors, StackedChainNet

__all__ = ["CompiledWeights", "compiled_forward"]

_NODE_TYPES: tuple[NodeType, ...] = ("service", "fragment", "device", "link")


def _np(t: Tensor | None, members: int) -> np.ndarray:
    """A stacked weight as a float32 array, the singleton row axis of biases dropped.

    ``None`` (a layer without bias) becomes a ``[M, 0]`` array.
    """
    if t is None:
        return np.zeros((members, 0), dtype=np.float32)
    a = t.detach().to(torch.float32).cpu().numpy()
    if a.ndim == 3 and a.shape[1] == 1:
        a = a[:, 0, :]
    return np.ascontiguousarray(a)


class CompiledWeights(NamedTuple):
    """The weights of a :class:`StackedChainNet` as float32 arrays, members first.

    Linear maps are ``(w [M, I, O], b [M, O])`` pairs (``b`` of width 0 without bias), GRU
    cells ``(w_ih [M, I, 3H], b_ih [M, 3H], w_hh [M, H, 3H], b_hh [M, 3H])``.
    """

    norm: tuple[np.ndarray, ...]  # mean, std per node type: 8 arrays [M, F]
    encoders: tuple[np.ndarray, ...]  # w1, b1, w2, b2 per node type: 16 arrays
    path_cell: tuple[np.ndarray, ...]
    fragment_cell: tuple[np.ndarray, ...]
    link_to_fragment: np.ndarray
    att_s: tuple[np.ndarray, np.ndarray]
    att_a: np.ndarray  # [M, heads, C]
    device_reads: tuple[np.ndarray, np.ndarray]  # [W_d | device w_hh], [0 | device b_hh]
    device_ih: tuple[np.ndarray, np.ndarray]
    link_W: tuple[np.ndarray, np.ndarray]
    link_cell: tuple[np.ndarray, ...]
    join: tuple[np.ndarray, np.ndarray]
    service_cell: tuple[np.ndarray, ...]
    service_mlp: tuple[np.ndarray, ...]
    device_mlp: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, s: StackedChainNet) -> CompiledWeights:
        """Copy the weights of ``s``."""
        M = s.num_members

        def lin(pair: tuple[Tensor | None, Tensor | None]) -> tuple[np.ndarray, np.ndarray]:
            return _np(pair[0], M), _np(pair[1], M)

        def cell(weights: tuple[Tensor, ...]) -> tuple[np.ndarray, ...]:
            return tuple(_np(t, M) for t in weights)

        norm = tuple(_np(s.norm[f"{nt}_{stat}"], M) for nt in _NODE_TYPES
                     for stat in ("mean", "std"))
        encoders = tuple(a for nt in _NODE_TYPES for layer in s.enc[nt] for a in lin(layer))
        return cls(
            norm=norm,
            encoders=encoders,
            path_cell=cell(s.path_cell),
            fragment_cell=cell(s.fragment_cell),
            link_to_fragment=_np(s.link_to_fragment, M),
            att_s=lin(s.att_s),
            att_a=np.ascontiguousarray(s.att_a.detach().to(torch.float32).numpy()[:, 0]),
            device_reads=lin(s.device_reads),
            device_ih=(_np(s.device_cell[0], M), _np(s.device_cell[1], M)),
            link_W=lin(s.link_W),
            link_cell=cell(s.link_cell),
            join=lin(s.join),
            service_cell=cell(s.service_cell),
            service_mlp=lin(s.service_mlp[0]) + lin(s.service_mlp[1]),
            device_mlp=lin(s.device_mlp[0]) + lin(s.device_mlp[1]),
        )


def compiled_forward(s: StackedChainNet, g: GraphTensors,
                     z: Mapping[NodeType, Tensor | np.ndarray] | None,
                     as_numpy: bool = False, services_only: bool = False) -> Any:
    """:meth:`StackedChainNet.__call__` in one compiled kernel (small inputs; CPU, float32).

    Args:
        s: The stacked members (their :class:`CompiledWeights` are built on first use).
        g: The graphs.
        z: ``asinh`` of the raw features per node type (tensors or float32 arrays), if
            already computed.
        as_numpy: Return numpy arrays rather than tensors (default: ``False``).
        services_only: The service heads only, the work only the device heads read skipped
            (default: ``False``; see :meth:`StackedChainNet.__call__`).

    Returns:
        The same ``[M, S]`` service and (unless ``services_only``) ``[M, D]`` device heads,
        float32.
    """
    w: CompiledWeights | None = s._compiled_weights
    if w is None:
        w = s._compiled_weights = CompiledWeights.of(s)
    zs: Mapping[NodeType, Tensor | np.ndarray] = (
        z if z is not None else {nt: torch.asinh(x) for nt, x in g.x.items()})
    feats = tuple(np.ascontiguousarray(v if isinstance(v, np.ndarray)
                                       else v.detach().to(torch.float32).numpy(),
                                       dtype=np.float32)
                  for v in (zs[nt] for nt in _NODE_TYPES))
    M = s.num_members
    num_s, num_d = feats[0].shape[0], feats[2].shape[0]
    tput = np.empty((M, num_s), dtype=np.float32)
    respt = np.empty((M, num_s), dtype=np.float32)
    p95 = np.empty((M, num_s), dtype=np.float32)
    num_dev_out = 0 if services_only else num_d
    util = np.empty((M, num_dev_out), dtype=np.float32)
    drop = np.empty((M, num_dev_out), dtype=np.float32)
    _forward(
        feats, g.host.numpy(), g.path_service.numpy(), g.batch_sizes.numpy(),
        g.send_fragment.numpy(), g.send_link.numpy(),
        g.service_prior.to(torch.float32).numpy(), g.device_prior.to(torch.float32).numpy(),
        s.num_iterations, s.heads, s.hidden_channels, np.float32(s.negative_slope),
        s.use_priors, w.norm, w.encoders, w.path_cell, w.fragment_cell, w.link_to_fragment,
        w.att_s, w.att_a, w.device_reads, w.device_ih, w.link_W, w.link_cell, w.join,
        w.service_cell, w.service_mlp, w.device_mlp, tput, respt, p95, util, drop,
        services_only,
    )
    out: dict[str, Any] = {"tput_ratio": tput, "respt_ratio": respt, "p95_ratio": p95}
    if not services_only:
        out["utilization"] = util
        out["drop_prob"] = drop
    return out if as_numpy else {k: torch.from_numpy(v) for k, v in out.items()}


# -- the kernel ------------------------------------------------------------------------------
# Every float is float32, as in the stacked pass; products accumulate over the input index in
# order (the loops over outputs vectorise without reassociation).

_F32 = np.float32


@numba.njit(cache=True)
def _affine(x: np.ndarray, w: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out = x @ w + b`` for ``x [N, I]``, ``w [I, O]``, ``b [O]`` or ``[0]``.

    Four input channels at a time: each output adds ``x_i w_i + ... + x_{i+3} w_{i+3}``
    (summed in that order) to its running sum, then the bias.
    """
    n_rows, n_in = x.shape
    n_out = w.shape[1]
    acc = np.empty(n_out, dtype=np.float32)
    top = n_in - n_in % 4
    for r in range(n_rows):
        acc[:] = 0.0
        for i in range(0, top, 4):
            x0, x1, x2, x3 = x[r, i], x[r, i + 1], x[r, i + 2], x[r, i + 3]
            w0, w1, w2, w3 = w[i], w[i + 1], w[i + 2], w[i + 3]
            for o in range(n_out):
                acc[o] += x0 * w0[o] + x1 * w1[o] + x2 * w2[o] + x3 * w3[o]
        for i in range(top, n_in):
            xi = x[r, i]
            wi = w[i]
            for o in range(n_out):
                acc[o] += xi * wi[o]
        if b.shape[0] > 0:
            for o in range(n_out):
                acc[o] += b[o]
        out[r, :] = acc
    return out


@numba.njit(cache=True)
def _mlp(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray
         ) -> np.ndarray:
    """``relu(x @ w1 + b1) @ w2 + b2``."""
    hidden = _affine(x, w1, b1, np.empty((x.shape[0], w1.shape[1]), dtype=np.float32))
    for r in range(hidden.shape[0]):
        for o in range(hidden.shape[1]):
            if hidden[r, o] < 0.0:
                hidden[r, o] = 0.0
    return _affine(hidden, w2, b2, np.empty((x.shape[0], w2.shape[1]), dtype=np.float32))


# float32 exp by Cody-Waite range reduction and Cephes' degree-6 polynomial (about 1 ulp):
# pure arithmetic, so the loops over a row vectorise, where calls to expf would not
_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_EXP_P = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                       4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_EXP_LO = np.float32(-87.0)
_EXP_HI = np.float32(88.0)
_P_EPS = np.float32(1e-4)  # the clip of chainnet.nn.heads


@numba.njit(cache=True)
def _exp_(x: np.ndarray, bits: np.ndarray) -> None:
    """``x = exp(x)`` in place for float32 ``x [n]`` (``bits``: int32 scratch ``[n]``)."""
    n = x.shape[0]
    for i in range(n):
        v = min(max(x[i], _EXP_LO), _EXP_HI)
        fn = np.floor(v * _LOG2E + _F32(0.5))
        r = v - fn * _LN2_HI - fn * _LN2_LO
        p = _EXP_P[0]
        p = p * r + _EXP_P[1]
        p = p * r + _EXP_P[2]
        p = p * r + _EXP_P[3]
        p = p * r + _EXP_P[4]
        p = p * r + _EXP_P[5]
        x[i] = p * (r * r) + r + _F32(1.0)
        bits[i] = (np.int32(fn) + np.int32(127)) << np.int32(23)
    scale = bits[:n].view(np.float32)
    for i in range(n):
        x[i] *= scale[i]


@numba.njit(cache=True)
def _gates(gi: np.ndarray, gh: np.ndarray, h: np.ndarray, out: np.ndarray) -> None:
    """ATen's GRUCell gate math for ``N`` rows (``gi``, ``gh``: ``[N, 3H]`` with biases).

    ``r, z = sigmoid(.)`` and ``n = tanh(.)`` from the vectorised :func:`_exp_` over the
    whole block, ``tanh`` as ``sign(a) (1 - e^{-2|a|}) / (1 + e^{-2|a|})``; ``out`` may be
    ``h``.
    """
    N, H = h.shape
    e = np.empty((N, 2 * H), dtype=np.float32)
    bits = np.empty(N * 2 * H, dtype=np.int32)
    for r in range(N):
        for k in range(2 * H):
            e[r, k] = -(gi[r, k] + gh[r, k])
    _exp_(e.reshape(-1), bits)
    a = np.empty((N, H), dtype=np.float32)
    t = np.empty((N, H), dtype=np.float32)
    for r in range(N):
        for k in range(2 * H):
            e[r, k] = _F32(1.0) / (_F32(1.0) + e[r, k])  # r (k < H), then z
        for k in range(H):
            a[r, k] = gh[r, 2 * H + k] * e[r, k] + gi[r, 2 * H + k]
            t[r, k] = _F32(-2.0) * abs(a[r, k])
    _exp_(t.reshape(-1), bits)
    for r in range(N):
        for k in range(H):
            n = (_F32(1.0) - t[r, k]) / (_F32(1.0) + t[r, k])
            if a[r, k] < 0:
                n = -n
            out[r, k] = (h[r, k] - n) * e[r, H + k] + n


@numba.njit(cache=True)
def _sigmoid(v: np.float32) -> np.float32:
    """The logistic function of one float32 (the heads)."""
    return _F32(1.0) / (_F32(1.0) + np.exp(-v))


@numba.njit(cache=True)
def _prior_logit(p: np.float32, use_priors: bool) -> np.float32:
    """The logit of an analytic prior clipped to ``[1e-4, 1 - 1e-4]`` (0 without priors)."""
    if not use_priors:
        return _F32(0.0)
    q = min(max(p, _P_EPS), _F32(1.0) - _P_EPS)
    return np.log(q / (_F32(1.0) - q))


@numba.njit(cache=True)
def _scatter_mean(src: np.ndarray, take: np.ndarray, put: np.ndarray,
                  counts: np.ndarray) -> np.ndarray:
    """PyG's ``scatter(reduce="mean")`` of the edges ``take[e] -> put[e]``.

    Rows ``src[take[e]]`` are summed into row ``put[e]`` edge by edge, then divided by
    ``counts`` (one per output row, at least 1).
    """
    out = np.zeros((counts.shape[0], src.shape[1]), dtype=np.float32)
    for e in range(take.shape[0]):
        for k in range(src.shape[1]):
            out[put[e], k] += src[take[e], k]
    for r in range(counts.shape[0]):
        for k in range(src.shape[1]):
            out[r, k] /= counts[r]
    return out


@numba.njit(cache=True)
def _gru(x: np.ndarray, h: np.ndarray, w_ih: np.ndarray, b_ih: np.ndarray, w_hh: np.ndarray,
         b_hh: np.ndarray) -> np.ndarray:
    """:class:`torch.nn.GRUCell` on ``x [N, I]``, ``h [N, H]``: the new ``[N, H]`` states."""
    gi = _affine(x, w_ih, b_ih, np.empty((x.shape[0], w_ih.shape[1]), dtype=np.float32))
    gh = _affine(h, w_hh, b_hh, np.empty((h.shape[0], w_hh.shape[1]), dtype=np.float32))
    out = np.empty_like(h)
    _gates(gi, gh, h, out)
    return out


@numba.njit(cache=True)
def _encode(z: np.ndarray, mean: np.ndarray, std: np.ndarray, w1: np.ndarray, b1: np.ndarray,
            w2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    xn = np.empty_like(z)
    for r in range(z.shape[0]):
        for c in range(z.shape[1]):
            xn[r, c] = (z[r, c] - mean[c]) / std[c]
    return _mlp(xn, w1, b1, w2, b2)


@numba.njit(cache=True)
def _forward(
    feats: tuple[np.ndarray, ...], host: np.ndarray, path_service: np.ndarray,
    batch_sizes: np.ndarray, send_f: np.ndarray, send_l: np.ndarray, sp: np.ndarray,
    dp: np.ndarray, iterations: int, heads: int, C: int, slope: np.float32, use_priors: bool,
    norm: tuple[np.ndarray, ...], enc: tuple[np.ndarray, ...], path_cell: tuple[np.ndarray, ...],
    fragment_cell: tuple[np.ndarray, ...], l2f: np.ndarray, att_s: tuple[np.ndarray, ...],
    att_a: np.ndarray, device_reads: tuple[np.ndarray, ...], device_ih: tuple[np.ndarray, ...],
    link_W: tuple[np.ndarray, ...], link_cell: tuple[np.ndarray, ...],
    join: tuple[np.ndarray, ...], service_cell: tuple[np.ndarray, ...],
    service_mlp: tuple[np.ndarray, ...], device_mlp: tuple[np.ndarray, ...], tput: np.ndarray,
    respt: np.ndarray, p95: np.ndarray, util: np.ndarray, drop: np.ndarray, services_only: bool,
) -> None:
    """The whole pass, member by member; writes the five heads ``[M, S]`` / ``[M, D]``.

    With ``services_only``, the service heads only (``util`` and ``drop`` are not written),
    and the last iteration skips what only the device heads read. The link update of the
    last iteration is skipped always (no head reads it).
    """
    H = C
    hc = heads * C
    zs, zf, zd, zl = feats
    num_s, num_f, num_d, num_l = zs.shape[0], zf.shape[0], zd.shape[0], zl.shape[0]
    num_p = path_service.shape[0]
    num_e = send_f.shape[0]
    M = tput.shape[0]
    # edge counts (the means of the link messages), the last packed row of each path
    per_frag = np.zeros(num_f, dtype=np.float32)
    per_link = np.zeros(num_l, dtype=np.float32)
    for e in range(num_e):
        per_frag[send_f[e]] += 1.0
        per_link[send_l[e]] += 1.0
    for f in range(num_f):
        per_frag[f] = max(per_frag[f], _F32(1.0))
    for lk in range(num_l):
        per_link[lk] = max(per_link[lk], _F32(1.0))
    for m in range(M):
        h_s = _encode(zs, norm[0][m], norm[1][m], enc[0][m], enc[1][m], enc[2][m], enc[3][m])
        h_f = _encode(zf, norm[2][m], norm[3][m], enc[4][m], enc[5][m], enc[6][m], enc[7][m])
        h_d = _encode(zd, norm[4][m], norm[5][m], enc[8][m], enc[9][m], enc[10][m],
                      enc[11][m])
        h_l = np.zeros((num_l, H), dtype=np.float32)
        if num_l > 0:
            h_l = _encode(zl, norm[6][m], norm[7][m], enc[12][m], enc[13][m], enc[14][m],
                          enc[15][m])
        joined = np.zeros((num_s, H), dtype=np.float32)
        for it in range(iterations):
            last_it = it == iterations - 1
            both = np.empty((num_f, 2 * H), dtype=np.float32)
            for f in range(num_f):
                for k in range(H):
                    both[f, k] = h_f[f, k]
                    both[f, H + k] = h_d[host[f], k]
            gi = _affine(both, path_cell[0][m], path_cell[1][m],
                         np.empty((num_f, 3 * H), dtype=np.float32))
            # the path GRU over the packed rows; each path's state ends at its last step
            h_p = np.empty((num_p, H), dtype=np.float32)
            for p in range(num_p):
                h_p[p] = h_s[path_service[p]]
            w_hh, b_hh = path_cell[2][m], path_cell[3][m]
            row = 0
            for t in range(batch_sizes.shape[0]):
                size = batch_sizes[t]
                gh = _affine(h_p[:size], w_hh, b_hh, np.empty((size, 3 * H), dtype=np.float32))
                _gates(gi[row:row + size], gh, h_p[:size], h_p[:size])
                for p in range(size):
                    for k in range(H):
                        both[row + p, k] = h_p[p, k]
                row += size
            if not (services_only and last_it):
                y_d = _affine(h_d, device_reads[0][m], device_reads[1][m],
                              np.empty((num_d, hc + 3 * H), dtype=np.float32))
                if num_e > 0:
                    link_msg = _scatter_mean(h_l, send_l, send_f, per_frag)
                    extra = _affine(link_msg, l2f[m], np.zeros(0, dtype=np.float32),
                                    np.empty((num_f, H), dtype=np.float32))
                    for f in range(num_f):
                        for k in range(H):
                            both[f, H + k] += extra[f, k]
                h_f = _gru(both, h_f, fragment_cell[0][m], fragment_cell[1][m],
                           fragment_cell[2][m], fragment_cell[3][m])
                # device attention: fragments -> their host
                x_s = _affine(h_f, att_s[0][m], att_s[1][m],
                              np.empty((num_f, hc), dtype=np.float32))
                alpha = np.zeros((num_f, heads), dtype=np.float32)
                a_m = att_a[m]
                for f in range(num_f):
                    for hd_ in range(heads):
                        acc = _F32(0.0)
                        for c in range(C):
                            k = hd_ * C + c
                            v = y_d[host[f], k] + x_s[f, k]
                            if v < 0.0:
                                v = v * slope
                            acc += v * a_m[hd_, c]
                        alpha[f, hd_] = acc
                a_max = np.full((num_d, heads), -np.inf, dtype=np.float32)
                for f in range(num_f):
                    for hd_ in range(heads):
                        a_max[host[f], hd_] = max(a_max[host[f], hd_], alpha[f, hd_])
                a_sum = np.zeros((num_d, heads), dtype=np.float32)
                for f in range(num_f):
                    for hd_ in range(heads):
                        alpha[f, hd_] = np.exp(alpha[f, hd_] - a_max[host[f], hd_])
                        a_sum[host[f], hd_] += alpha[f, hd_]
                for d in range(num_d):
                    for hd_ in range(heads):
                        a_sum[d, hd_] += _F32(1e-16)
                msg = np.zeros((num_d, hc), dtype=np.float32)
                for f in range(num_f):
                    for hd_ in range(heads):
                        a = alpha[f, hd_] / a_sum[host[f], hd_]
                        for c in range(C):
                            msg[host[f], hd_ * C + c] += x_s[f, hd_ * C + c] * a
                if heads > 1:
                    mean = np.zeros((num_d, C), dtype=np.float32)
                    for d in range(num_d):
                        for c in range(C):
                            acc = _F32(0.0)
                            for hd_ in range(heads):
                                acc += msg[d, hd_ * C + c]
                            mean[d, c] = acc / _F32(heads)
                    msg = mean
                gi_d = _affine(msg, device_ih[0][m], device_ih[1][m],
                               np.empty((num_d, 3 * H), dtype=np.float32))
                new_d = np.empty_like(h_d)
                _gates(gi_d, y_d[:, hc:], h_d, new_d)
                h_d = new_d
                if num_l > 0 and not last_it:
                    m_l = np.zeros((num_l, H), dtype=np.float32)
                    if num_e > 0:
                        sent = _affine(h_f, link_W[0][m], link_W[1][m],
                                       np.empty((num_f, H), dtype=np.float32))
                        m_l = _scatter_mean(sent, send_f, send_l, per_link)
                    h_l = _gru(m_l, h_l, link_cell[0][m], link_cell[1][m], link_cell[2][m],
                               link_cell[3][m])
            pooled = np.zeros((num_s, 2 * H), dtype=np.float32)
            seen = np.zeros(num_s, dtype=np.bool_)
            for p in range(num_p):
                sv = path_service[p]
                for k in range(H):
                    pooled[sv, k] += h_p[p, k]
                    if not seen[sv] or h_p[p, k] > pooled[sv, H + k]:
                        pooled[sv, H + k] = h_p[p, k]
                seen[sv] = True
            joined = _affine(pooled, join[0][m], join[1][m],
                             np.empty((num_s, H), dtype=np.float32))
            h_s = _gru(joined, h_s, service_cell[0][m], service_cell[1][m], service_cell[2][m],
                       service_cell[3][m])
        # the heads (chainnet.nn.PerformanceHeads)
        cat = np.empty((num_s, 2 * H), dtype=np.float32)
        for s_ in range(num_s):
            for k in range(H):
                cat[s_, k] = h_s[s_, k]
                cat[s_, H + k] = joined[s_, k]
        ds = _mlp(cat, service_mlp[0][m], service_mlp[1][m], service_mlp[2][m],
                  service_mlp[3][m])
        for s_ in range(num_s):
            lt = _prior_logit(sp[s_, 0], use_priors)
            lr = _prior_logit(sp[s_, 1], use_priors)
            base = _F32(1.0)
            if use_priors:
                excess = max(sp[s_, 2] - _F32(1.0), _P_EPS)
                base = excess + np.log(-np.expm1(-excess))
            tput[m, s_] = _sigmoid(lt + ds[s_, 0])
            respt[m, s_] = _sigmoid(lr + ds[s_, 1])
            x = base + ds[s_, 2]
            p95[m, s_] = _F32(1.0) + (x if x > _F32(20.0) else np.log1p(np.exp(x)))
        if services_only:
            continue
        dd = _mlp(h_d, device_mlp[0][m], device_mlp[1][m], device_mlp[2][m], device_mlp[3][m])
        for d in range(num_d):
            util[m, d] = _sigmoid(_prior_logit(dp[d, 0], use_priors) + dd[d, 0])
            drop[m, d] = _sigmoid(_prior_logit(dp[d, 1], use_priors) + dd[d, 1])
