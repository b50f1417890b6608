"""``sd report STORE --out report.html``: one self-contained HTML page about a sweep's store.

The page is built from the store (its outcomes, reality checks, stored series and drawn parameters) and
an optional ``[report]`` table of the sweep spec (:class:`ReportConfig`: title, question, headline
conditions, a drawn parameter to split every share by, outcomes to rank parameters for, PRIM condition,
surfaces and fan charts). It shows the question, the share of draws for each headline condition (NaN and
unfinished draws counted), the reality checks, a summary of every outcome, the most influential parameters
(S1 and ST side by side for a Saltelli store, RBD-FAST S1 otherwise, Morris mu* for a Morris store), a PRIM
box, surfaces, fan charts, CDFs, parameter-outcome scatter plots, and what is needed to reproduce it.
Bokeh figures, resources inline (one file, opens offline).
"""

from __future__ import annotations

from sd.report.page import Share, build_report, load_config, share
from sd.sweep.report_spec import ReportConfig

__all__ = ["ReportConfig", "Share", "build_report", "load_config", "share"]
