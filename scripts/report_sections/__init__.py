"""Sections of the evaluation report (:mod:`scripts.report`), one module per section.

Each module exposes ``run(ctx: ReportContext) -> Section``:

- :mod:`~scripts.report_sections.simulator`: (a) the simulator against exact queueing theory;
- :mod:`~scripts.report_sections.surrogate`: (b) surrogate accuracy;
- :mod:`~scripts.report_sections.placement`: (c) placement against baselines;
- :mod:`~scripts.report_sections.policies`: (d) split policies online;
- :mod:`~scripts.report_sections.analytical`: (e) ORRIC, QPART and INFIDA.

:mod:`~scripts.report_sections.summary` builds the report's opening summary from the sections'
numbers and defines the terms they use.
"""

from scripts.report_sections.base import ReportContext, Section, md_table

__all__ = ["ReportContext", "Section", "md_table"]
