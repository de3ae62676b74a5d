"""The per-paper claim subsections of report section (e), at a tiny budget."""

from __future__ import annotations

import pytest

from scripts.report_sections import paper_claims
from scripts.report_sections.base import ReportContext


def test_infida_claims_quick(tmp_path):
    ctx = ReportContext(tmp_path, quick=True, seed=0, scale=0.4)
    md, figs, data = paper_claims.infida_claims(ctx, {})
    assert "supported" in md and figs == ["infida_sweeps.png"]
    assert (tmp_path / figs[0]).exists()
    assert set(data["infida_topologies"].index.get_level_values("topology")) == {"line", "tree"}


@pytest.mark.slow
def test_orric_and_qpart_claims_quick_deterministic(tmp_path):
    ctx = ReportContext(tmp_path, quick=True, seed=0)
    md1, figs, _ = paper_claims.orric_claims(ctx, {})
    md2, _, _ = paper_claims.orric_claims(ctx, {})
    assert md1 == md2 and (tmp_path / figs[0]).exists()
    mdq, figs_q, data = paper_claims.qpart_claims(ctx, {})
    assert "Fig. 5" in mdq and len(figs_q) == 2
    assert len(data["qpart_partitions"]) == 2 * 7
