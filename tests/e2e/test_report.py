"""`tuned-models report` on the shipped `local` stack after a real `pulumi up` (the embedded
emulator) and a retrain that failed its gate: the page names what serves and what failed, and a
real browser shows every chart and logs nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.e2e.conftest import ROOT, Project
from tests.e2e.test_lifecycle import tuned_models
from tests.e2e.test_quality_gate import shift_outputs
from tests.support.browser import chart_count, check_page


def test_report_on_the_local_stack_shows_its_charts_in_a_browser(tmp_path: Path, pulumi_dir: Path) -> None:
    project = Project(tmp_path / "project", pulumi_dir, "local")
    shutil.copy2(ROOT / "stacks" / "Pulumi.local.yaml", project.stack_file)
    doc = yaml.safe_load(project.stack_file.read_text())
    doc["config"]["tuned-models:emulatorStepSeconds"] = "0.02"
    project.stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    project.pulumi("stack", "select", "--create")
    project.pulumi("up", "--yes")
    shift_outputs(project.root / "stacks/datasets/number-generator.jsonl")
    assert project.pulumi("up", "--yes", check=False).returncode != 0

    page = tmp_path / "report.html"
    proc = tuned_models(project, "report", "--out", str(page))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(page)
    html = page.read_text(encoding="utf-8")
    assert "Pulumi state not read" not in html
    for name in ("number-generator", "support-tickets", "summarizer"):
        assert f">{name} <span" in html
    assert "trained, gate failed" in html and "evaluated by this report" in html
    assert "Last <code>pulumi update</code>: failed" in html

    check = check_page(page, tmp_path)
    assert len(check.boxes) == chart_count(html) == 6  # a loss curve and a gate chart per model
    assert all(share > 0.02 for share in check.inks), check.inks
    assert check.console == []
