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
