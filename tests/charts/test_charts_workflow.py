"""The chart rules (workflow/rules/charts.smk) run under snakemake on the smoke results, and
`snakemake --report` wraps their outputs with captions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, REPO

SMOKE = DATA / "results-smoke"

# Stands in for the workflow's Snakefile and common.smk: the chart rules need only
# `cell_paths`, `optional_capacity` and a report description.
SNAKEFILE = """\
from pathlib import Path


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


CELLS = sorted(p.stem for p in Path("results/meta").glob("*.json"))


def cell_paths(pattern):
    return [pattern.format(cell=cell) for cell in CELLS]


def optional_capacity(wildcards):
    return {"files": [], "digest": None}


include: "workflow/rules/charts.smk"


rule all:
    input:
        rules.charts.input,
"""

pytestmark = [
    pytest.mark.chromium,
]


def test_chart_rules_and_their_report(tmp_path):
    for folder in ("workflow/rules", "workflow/scripts", "workflow/report", "envs"):
        (tmp_path / folder).mkdir(parents=True)
    shutil.copy(REPO / "workflow/rules/charts.smk", tmp_path / "workflow/rules")
    for script in (REPO / "workflow/scripts").glob("charts_*.py"):
        shutil.copy(script, tmp_path / "workflow/scripts")
    for caption in (REPO / "workflow/report").glob("charts_*.rst"):
        shutil.copy(caption, tmp_path / "workflow/report")
    (tmp_path / "workflow/report/workflow.rst").write_text("Charts of the smoke results.\n")
    (tmp_path / "envs/tierbench.yaml").write_text("name: tierbench\n")
    shutil.copytree(SMOKE, tmp_path / "results", ignore=shutil.ignore_patterns("*.md", "recorded"))
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "config.yaml").write_text("charts:\n  length_s: 3\n  width: 480\n  height: 270\n")
    env = {
        "PYTHONPATH": str(REPO / "src"),
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }
    snakemake = [sys.executable, "-m", "snakemake", "--cores", "2", "--quiet", "all"]
    run = subprocess.run(snakemake, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    charts = tmp_path / "results" / "charts"
    expected = ["comparison.gif", "comparison.mp4", "report.html", "summary.png"]
    assert sorted(p.name for p in charts.iterdir()) == expected
    assert "rendered" in (tmp_path / "logs/charts/comparison.log").read_text()

    report = subprocess.run(
        [*snakemake[:3], "--report", "report.html"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    page = (tmp_path / "report.html").read_text()
    for name in expected:
        assert name in page
    for mime in ("image/gif", "video/mp4", "image/png", "text/html"):
        assert mime in page
