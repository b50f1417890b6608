"""A real headless Chromium opens the generated HTML: the bokeh plot renders, with no console errors.

CI (.ci/run) installs Debian's chromium when it is missing; elsewhere the test is skipped without it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import sd
from sd import plot

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI installs it)")


def _chromium(tmp: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / "profile"
    cmd = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           "--window-size=1000,800", "--virtual-time-budget=10000", *args, page.as_uri()]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line and re.search(r"error|uncaught", line, re.I)]


def test_surface_html_renders_in_chromium(mc_store, tmp_path: Path) -> None:
    surf = sd.analyze.surface(mc_store, "x1", "x2", "y", stat="median", bins=10)
    page = plot.save(plot.surface_plot(surf), tmp_path / "surface.html", title="Ishigami surface")
    text = page.read_text()
    assert '"axis_label":"x1' in text.replace(" ", "") or '"x1 (Dmnl)"' in text  # axis labels in the doc
    dom = _chromium(tmp_path, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>Ishigami surface</title>" in dom.stdout
    assert 'class="bk-Figure"' in dom.stdout or "bk-" in dom.stdout  # bokeh built its view
    shot = tmp_path / "shot.png"
    res = _chromium(tmp_path, page, f"--screenshot={shot}")
    assert shot.exists(), res.stderr[-2000:]
    assert _console_errors(res.stderr) == []
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)[..., :3]
    assert img.shape[0] > 100
    not_white = (img < 0.95).any(axis=2).mean()
    assert not_white > 0.05, f"the screenshot is blank ({100 * not_white:.1f}% non-white pixels)"
    assert len(np.unique(img.reshape(-1, 3).round(2), axis=0)) > 20  # a colour map, not one flat fill


def test_report_renders_in_chromium(mc_store, tmp_path: Path) -> None:
    from sd.report import build_report

    page = build_report(mc_store, tmp_path / "report.html")
    dom = _chromium(tmp_path, page, "--dump-dom")
    assert dom.returncode == 0
    assert "<title>sd report" in dom.stdout and "bk-" in dom.stdout
    assert _console_errors(dom.stderr) == []
    assert json.loads(mc_store.attrs["spec"])["seed"] == 7 and "seed 7" in page.read_text()


def test_sir_report_renders_in_chromium(sir_store, tmp_path: Path) -> None:
    from sd.report import build_report

    page = build_report(sir_store, tmp_path / "sir.html")
    dom = _chromium(tmp_path, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>sd report: SIR: how large does the epidemic get?</title>" in dom.stdout
    assert dom.stdout.count("bk-") > 20 and "peak infectious" in dom.stdout
    assert _console_errors(dom.stderr) == []
    shot = tmp_path / "shot.png"
    res = _chromium(tmp_path, page, f"--screenshot={shot}")
    assert shot.exists() and _console_errors(res.stderr) == [], res.stderr[-2000:]
