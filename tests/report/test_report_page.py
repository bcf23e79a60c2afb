"""The report page: what it says, that it needs nothing from the network, and that a real browser
shows its charts (not blank) without logging anything. The negative controls show the checks can
fail: a page with blank charts, and a page with a script error."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path

from tests.support.browser import blanked, chart_count, check_page
from tuned_models.cli.report import ModelReport, StackReport, Version
from tuned_models.cli.report_html import render
from tuned_models.model.datasets import DatasetInfo
from tuned_models.model.evaluation import Answer, Gate, judge
from tuned_models.model.scoring import Metric
from tuned_models.model.spec import ModelSpec
from tuned_models.model.state import LiveModel, LossPoint, ModelState
from tuned_models.stack.state import LastUpdate

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
GATE = Gate(Metric.EXACT_MATCH, 0.7, "sha256:" + "e" * 64)


def curve(steps: int, epochs: int, start: float) -> tuple[LossPoint, ...]:
    per_epoch = math.ceil(steps / epochs)
    return tuple(LossPoint(k, min(epochs, k // per_epoch), start * 0.8**k + 0.2) for k in range(1, steps + 1))


def version(name: str, serving: bool | None, score: float | None, steps: int = 19) -> Version:
    model = LiveModel(
        name=f"tunedModels/{name}",
        model_id=name,
        state=ModelState.ACTIVE,
        training={"hyperparameters": {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}},
        create_time=NOW,
        loss_curve=curve(steps, 5, 7.0 if serving else 4.5),
    )
    if score is None:
        return Version(model, serving)
    answers = [
        Answer(i, f"input {i} <b>", "expected & more", "answer", 1.0 if i <= score * 8 else 0.0)
        for i in range(1, 9)
    ]
    return Version(
        model, serving, judge(GATE, model.name, answers, "2025-03-01T11:00:00Z"), "recorded by `pulumi up`"
    )


def report(tmp_path: Path) -> Path:
    spec = ModelSpec.model_validate(
        {
            "baseModel": "models/gemini-1.5-flash-001-tuning",
            "description": "Next number <script>alert(1)</script>",
            "dataset": "stacks/datasets/number-generator.jsonl",
            "hyperparameters": {"epochCount": 5, "batchSize": 4},
            "evaluation": {"examples": "stacks/datasets/number-generator-eval.jsonl", "minScore": 0.7},
        }
    )
    numbers = ModelReport(
        "number-generator",
        spec,
        GATE,
        DatasetInfo("stacks/datasets/number-generator.jsonl", "sha256:" + "a" * 64, 15),
        (version("number-generator-aaaa", True, 0.75), version("number-generator-bbbb", False, 0.0)),
        {
            "lastChange": {
                "action": "trained",
                "detail": "trained tunedModels/x on 15 examples",
                "time": "2025-03-01T11:00:00Z",
            }
        },
        True,
    )
    plain = ModelReport(
        "summarizer",
        spec.model_copy(update={"evaluation": None}),
        None,
        None,
        (version("summarizer-cccc", True, None, 14),),
    )
    data = StackReport(
        project="tuned-models",
        stack="local",
        file="stacks/Pulumi.local.yaml",
        backend="gemini",
        generated=NOW,
        models=(numbers, plain),
        undeclared=(),
        last_update=LastUpdate("update", "failed", NOW, NOW, {"same": 4}),
        state_note=None,
    )
    page = tmp_path / "report.html"
    page.write_text(render(data), encoding="utf-8")
    return page


def test_the_page_says_what_serves_the_gate_and_what_changed(tmp_path: Path) -> None:
    html = report(tmp_path).read_text()
    assert chart_count(html) == 3  # two loss curves, one gate chart
    assert "trained, gate failed" in html and "Trained but not serving" in html
    assert "exactMatch 0.75 &gt;= minScore 0.7 on 8 examples" in html
    assert "changed by the last up" in html and "failed at 2025-03-01 12:00:00 UTC" in html
    # Everything quoted from users is escaped.
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "input 1 &lt;b&gt;" in html


def test_the_page_fetches_nothing(tmp_path: Path) -> None:
    html = report(tmp_path).read_text()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html) + re.findall(
        r"url\(([^)]*)\)", html
    )
    assert [r for r in references if not r.startswith("#")] == []
    assert "<script" not in html and "@import" not in html


def test_a_browser_shows_every_chart_and_the_page_logs_nothing(tmp_path: Path) -> None:
    page = report(tmp_path)
    check = check_page(page, tmp_path)
    assert len(check.boxes) == chart_count(page.read_text())
    assert all(share > 0.02 for share in check.inks), check.inks
    assert check.console == []


def test_the_checks_fail_for_blank_charts_and_for_a_page_that_logs_errors(tmp_path: Path) -> None:
    page = report(tmp_path)
    blank = tmp_path / "blank.html"
    blank.write_text(blanked(page.read_text()), encoding="utf-8")
    check = check_page(blank, tmp_path)
    assert len(check.boxes) == 3 and all(share < 0.001 for share in check.inks), check.inks
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text().replace("</body>", "<script>missing();</script></body>"))
    assert any("missing is not defined" in line for line in check_page(broken, tmp_path).console)
