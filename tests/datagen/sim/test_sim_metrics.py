"""Student-t quantiles of the batch-means half-widths (issue 21, item 8)."""

from __future__ import annotations

import numpy as np

from datagen.sim.metrics import _t975_table


def test_t_table_is_bit_identical_to_scipy_stats() -> None:
    # scipy.special.stdtrit instead of scipy.stats.t.ppf: ~1 s less at import, same numbers
    from scipy import stats

    tab = _t975_table(40)
    assert np.isnan(tab[:2]).all()
    np.testing.assert_array_equal(tab[2:], stats.t.ppf(0.975, np.arange(2, 41) - 1))


def test_percentiles_in_place_are_numbas_percentiles() -> None:
    # The latency percentiles select in place instead of copying: the same values as
    # numba's np.percentile, ties and single values included.
    import numba

    from datagen.sim.metrics import _percentiles

    @numba.njit
    def ref(a: np.ndarray, q: np.ndarray) -> np.ndarray:
        return np.percentile(a, q)

    rng = np.random.default_rng(0)
    qs = np.array([50.0, 95.0, 99.0])
    for trial in range(600):
        n = int(rng.integers(1, 300))
        a = [rng.exponential(size=n), np.round(rng.exponential(size=n), 1),
             np.full(n, 0.5)][trial % 3]
        b = a.copy()
        assert np.array_equal(_percentiles(b, qs), ref(a, qs))
        assert np.array_equal(np.sort(b), np.sort(a))
    assert np.isnan(_percentiles(np.array([1.0, np.nan, 2.0]), qs)).all()
