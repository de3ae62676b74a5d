"""INFIDA experiments: topologies, traces, served breakdown, greedy on mean requests."""

from __future__ import annotations

import numpy as np
import pytest

from placement.baselines.infida_experiments import (
    build_instance,
    popularity_trace,
    run_greedy_mean,
    score_policies,
    served_breakdown,
)


@pytest.mark.parametrize("kind, entries", [("line", 3), ("tree", 4)])
def test_topologies(kind, entries):
    inst = build_instance(kind, tasks=2)
    assert len(set(inst.entries)) == entries
    assert len(inst.network.request_types) == entries * 2
    with pytest.raises(ValueError, match="kind"):
        build_instance("ring")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        build_instance(kind, alpha=-1.0)


def test_traces_fixed_vs_sliding():
    inst = build_instance("line")
    fixed = popularity_trace(inst, 30, 300.0, np.random.default_rng(0), "fixed")
    slide = popularity_trace(inst, 30, 300.0, np.random.default_rng(0), "sliding")
    task = np.array(inst.tasks)
    top_f = [int(np.argmax([r[task == i].sum() for i in range(3)])) for r in fixed[-10:]]
    assert fixed.shape == (30, len(task)) and set(top_f) == {0}
    late = slide[-10:].sum(axis=0)
    assert int(np.argmax([late[task == i].sum() for i in range(3)])) != 0
    with pytest.raises(ValueError, match="profile"):
        popularity_trace(inst, 3, 1.0, np.random.default_rng(0), "x")  # type: ignore[arg-type]


def test_alpha_moves_served_mix_and_budgets_hold():
    tr = popularity_trace(build_instance("line"), 12, 200.0, np.random.default_rng(1))
    out = {}
    for a in (0.5, 6.0):
        inst = build_instance("line", alpha=a)
        s = score_policies(inst, tr, np.random.default_rng(2), eta=0.01, breakdown=True)
        out[a] = s["greedy"]
        assert s["INFIDA"].ntag >= 0 and 0 < s["INFIDA"].inaccuracy < 1
    assert out[6.0].inaccuracy <= out[0.5].inaccuracy + 1e-12
    inst = build_instance("tree")
    r = run_greedy_mean(inst.network, tr[:, : len(inst.network.request_types)]
                        if tr.shape[1] >= len(inst.network.request_types)
                        else popularity_trace(inst, 12, 200.0, np.random.default_rng(3)),
                        refresh=4)
    for x in r.allocations:
        for v, used in inst.network.allocated_size(x).items():
            assert used <= inst.network.budgets[v] + 1e-9
    lat, inacc = served_breakdown(inst, popularity_trace(inst, len(r.allocations), 50.0,
                                                         np.random.default_rng(4)),
                                  r.allocations)
    assert lat > 0 and 0 < inacc < 1
