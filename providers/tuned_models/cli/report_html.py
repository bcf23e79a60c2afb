"""The report page: :func:`render` turns a :class:`~tuned_models.cli.report.StackReport` into one
self-contained HTML document.

Self-contained: the charts are inline SVG drawn by matplotlib (no script, no font, no image or
style sheet fetched from anywhere), the style sheet is inline; every text from a stack file, the
service or the state is HTML-escaped. Charts: a model's loss curve (mean loss by step, every
model of the resource on the service on one chart, epochs marked) and its gate (the score of each
evaluated model against ``minScore``).

matplotlib is imported here only (``tuned-models[report]``): nothing else in the package needs it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tuned_models.cli.report import ModelReport, StackReport, Version
from tuned_models.model.state import LossPoint, ModelState

#: Colours of the models of one resource on a chart: the serving one first.
PALETTE = ("#2563eb", "#ea580c", "#7c3aed", "#0d9488", "#db2777")
PASS, FAIL, MUTED = "#15803d", "#b91c1c", "#6b7280"

_RC: dict[Any, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller, and the page's font
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": "#374151",
    "xtick.color": "#4b5563",
    "ytick.color": "#4b5563",
    "axes.grid": True,
    "grid.color": "#e5e7eb",
    "grid.linewidth": 0.8,
}


def _svg(figure: Figure, salt: str) -> str:
    """``figure`` as an inline ``<svg>`` element (no XML prolog; ids unique to ``salt``)."""
    buffer = io.StringIO()
    settings: dict[Any, Any] = {**_RC, "svg.hashsalt": salt}
    with matplotlib.rc_context(settings):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def loss_chart(name: str, versions: Sequence[Version]) -> str | None:
    """The loss curves of a resource's models as inline SVG, or None when none is reported."""
    curves = [(v, v.model.loss_curve) for v in versions if v.model.loss_curve]
    if not curves:
        return None
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(10, 3.2), dpi=100)
        ax = figure.subplots()
        for i, (version, points) in enumerate(curves):
            role = {True: " (serving)", False: " (not serving)", None: ""}[version.serving]
            label = _short(version.model.name) + role
            style = "-" if version.serving or len(curves) == 1 else "--"
            ax.plot(
                [p.step for p in points],
                [p.mean_loss for p in points],
                style,
                color=PALETTE[i % len(PALETTE)],
                linewidth=1.8,
                label=label,
            )
        first = curves[0][1]
        for step, epoch in _epoch_starts(first):
            ax.axvline(step, color="#d1d5db", linewidth=0.9, linestyle=":", zorder=0)
            ax.text(
                step,
                1.0,
                f" epoch {epoch}",
                transform=ax.get_xaxis_transform(),
                fontsize=8,
                color=MUTED,
                va="bottom",
                ha="left",
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("step")
        ax.set_ylabel("mean loss")
        ax.set_ylim(bottom=0)
        ax.set_xlim(left=0)
        ax.legend(frameon=False, fontsize=8, loc="upper right")
    return _svg(figure, f"loss-{name}")


def _epoch_starts(points: Sequence[LossPoint]) -> list[tuple[int, int]]:
    """(step, epoch) where each epoch after the first begins."""
    starts: list[tuple[int, int]] = []
    previous = points[0].epoch if points else 0
    for p in points[1:]:
        if p.epoch != previous:
            starts.append((p.step, p.epoch))
            previous = p.epoch
    return starts


def gate_chart(name: str, versions: Sequence[Version]) -> str | None:
    """Each evaluated model's score against its ``minScore``, as inline SVG (None: none)."""
    scored = [v for v in versions if v.evaluation is not None]
    if not scored:
        return None
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(10, 0.7 + 0.45 * len(scored)), dpi=100)
        ax = figure.subplots()
        labels = [_short(v.model.name) for v in scored]
        for i, version in enumerate(scored):
            result = version.evaluation
            assert result is not None
            colour = PASS if result.passed else FAIL
            ax.barh(i, result.score, color=colour, height=0.55)
            ax.plot([result.gate.min_score] * 2, [i - 0.4, i + 0.4], color="#111827", linewidth=2)
            ax.text(
                min(result.score, 0.86) + 0.015,
                i,
                f"{result.score:.3g}",
                va="center",
                fontsize=9,
                color="#111827",
            )
        ax.set_yticks(range(len(scored)), labels)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        metric = scored[0].evaluation.gate.metric.value if scored[0].evaluation else "score"
        ax.set_xlabel(f"{metric} score (black line: minScore)")
    return _svg(figure, f"gate-{name}")


# -- HTML ------------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: #111827; background: #f3f4f6; }
header { background: #111827; color: #f9fafb; padding: 28px 40px 22px; }
header h1 { margin: 0 0 6px; font-size: 26px; font-weight: 650; }
header p { margin: 2px 0; color: #d1d5db; }
header code { color: #f9fafb; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 24px 48px; }
.note { background: #fef3c7; border: 1px solid #f59e0b; border-radius: 8px; padding: 10px 14px;
  margin: 0 0 18px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px;
  margin: 0 0 24px; }
.tile { background: #fff; border-radius: 10px; padding: 12px 14px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.tile a { color: inherit; text-decoration: none; font-weight: 600; }
.tile .badges { margin-top: 6px; }
section.model { background: #fff; border-radius: 12px; padding: 20px 24px; margin: 0 0 22px;
  box-shadow: 0 1px 3px rgba(0,0,0,.1); }
section.model h2 { margin: 0; font-size: 20px; }
section.model h3 { margin: 18px 0 6px; font-size: 15px; color: #374151; text-transform: uppercase;
  letter-spacing: .04em; }
.sub { color: #4b5563; margin: 2px 0 10px; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12.5px; font-weight: 600;
  margin-right: 6px; }
.ACTIVE, .passed { background: #dcfce7; color: #166534; }
.CREATING { background: #dbeafe; color: #1e40af; }
.FAILED, .failed { background: #fee2e2; color: #991b1b; }
.none, .unknown, .NOT { background: #e5e7eb; color: #374151; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 8px 0 0; }
dt { color: #6b7280; }
dd { margin: 0; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.chart { margin: 6px 0 0; }
.chart svg { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { color: #6b7280; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num:first-child, th.num:first-child { width: 3em; }
.muted { color: #6b7280; }
footer { color: #6b7280; font-size: 13px; text-align: center; padding: 0 0 32px; }
"""


def _badge(text: str, kind: str) -> str:
    return f'<span class="badge {escape(kind)}">{escape(text)}</span>'


def _code(value: Any) -> str:
    return f"<code>{escape(str(value))}</code>"


def _when(value: datetime | str | None) -> str:
    """A time to the second, in UTC: ``2025-01-31 14:03:07 UTC``."""
    when = value
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return escape(value)
    if not isinstance(when, datetime):
        return "-"
    return escape(when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))


def _gate_badge(model: ModelReport) -> str:
    if model.gate is None and not any(v.evaluation for v in model.versions):
        return _badge("no gate", "none")
    serving = model.serving
    result = serving.evaluation if serving else None
    if result is None:
        candidates = [v.evaluation for v in model.versions if v.evaluation is not None]
        if not candidates:
            return _badge("gate not known", "unknown")
        result = candidates[-1]
    word = "gate passed" if result.passed else "gate failed"
    return _badge(f"{word} {result.score:.3g}", "passed" if result.passed else "failed")


def _state(model: ModelReport) -> tuple[str, str]:
    version = model.serving or (model.versions[-1] if model.versions else None)
    if version is None:
        return "NOT CREATED", "NOT"
    return version.model.state.value, version.model.state.value


def _hyperparameters(declared: Mapping[str, Any], resolved: Mapping[str, Any]) -> str:
    keys = list(dict.fromkeys([*declared, *resolved]))
    if not keys:
        return '<span class="muted">the service\'s defaults</span>'
    parts = []
    for key in keys:
        value = resolved.get(key, declared.get(key))
        mark = "" if key in declared else ' <span class="muted">(default)</span>'
        parts.append(f"{_code(key)} {escape(f'{value:g}' if isinstance(value, float) else str(value))}{mark}")
    return ", ".join(parts)


def _facts(model: ModelReport) -> str:
    spec = model.spec
    version = model.serving or (model.versions[-1] if model.versions else None)
    rows: list[tuple[str, str]] = []
    if version is not None:
        rows.append(("tuned model", _code(version.model.name)))
        deployment = version.model.deployment
        if deployment is not None:
            rows.append(("model version", _code(deployment.model or "-")))
            rows.append(("endpoint", _code(deployment.endpoint or "-")))
    if spec is not None:
        base = spec.baseModel or (spec.tunedModelSource.tunedModel if spec.tunedModelSource else None)
        rows.append(("base model", _code(base or "-")))
        resolved = dict(version.model.training.get("hyperparameters") or {}) if version else {}
        rows.append(("hyperparameters", _hyperparameters(spec.hyperparameters.declared(), resolved)))
    if model.dataset is not None:
        where = _code(model.dataset.path) if model.dataset.path else "inline examples"
        rows.append(("dataset", f"{where}, {model.dataset.count} examples"))
        rows.append(("dataset digest", _code(model.dataset.digest)))
    trained_on = model.recorded.get("datasetDigest")
    if trained_on and (model.dataset is None or trained_on != model.dataset.digest):
        count = model.recorded.get("exampleCount")
        on = f"{_code(trained_on)}" + (f", {int(count)} examples" if isinstance(count, int | float) else "")
        rows.append(("serving model's data", f"{on} (not the file's current examples)"))
    if spec is not None and spec.evaluation is not None:
        source = spec.evaluation.examples
        where = _code(source) if isinstance(source, str) else f"{len(source)} inline examples"
        rows.append(
            (
                "quality gate",
                f"{_code(spec.evaluation.metric.value)} &ge; {spec.evaluation.minScore:g} on {where}",
            )
        )
    if version is not None and version.model.create_time is not None:
        rows.append(("created", _when(version.model.create_time)))
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _versions_table(model: ModelReport) -> str:
    if len(model.versions) < 2 and all(v.serving is not False for v in model.versions):
        return ""
    rows = []
    for v in model.versions:
        role = {True: "serving", False: "trained, not serving", None: "not known"}[v.serving]
        if v.serving is False and v.evaluation is not None and not v.evaluation.passed:
            role = "trained, gate failed"
        last = v.model.loss_curve[-1].mean_loss if v.model.loss_curve else None
        rows.append(
            f"<tr><td>{_code(v.model.name)}</td><td>{_badge(v.model.state.value, v.model.state.value)}</td>"
            f"<td>{escape(role)}</td><td>{_when(v.model.create_time)}</td>"
            f'<td class="num">{f"{last:.4g}" if last is not None else "-"}</td></tr>'
        )
    return (
        "<h3>On the service</h3><table><tr><th>tuned model</th><th>state</th><th>role</th>"
        '<th>created</th><th class="num">final loss</th></tr>' + "".join(rows) + "</table>"
    )


def _worst(results: Iterable[tuple[Version, str]]) -> str:
    parts = []
    for version, source in results:
        result = version.evaluation
        assert result is not None
        word = "passed" if result.passed else "failed"
        head = (
            f"<p>{_code(_short(version.model.name))}: {_badge(word, word)}"
            f'{escape(result.summary())} <span class="muted">({escape(source)}'
            f"{', ' + _when(result.evaluated_at) if result.evaluated_at else ''})</span></p>"
        )
        if not result.worst:
            parts.append(head + '<p class="muted">Every example was answered perfectly.</p>')
            continue
        rows = "".join(
            f'<tr><td class="num">{a.index}</td><td>{escape(a.text_input)}</td><td>{escape(a.expected)}</td>'
            f'<td>{escape(a.answer)}</td><td class="num">{a.score:.3g}</td></tr>'
            for a in result.worst
        )
        parts.append(
            head + '<table><tr><th class="num">#</th><th>input</th><th>expected</th><th>answer</th>'
            f'<th class="num">score</th></tr>{rows}</table>'
        )
    return "".join(parts)


def _last_change(model: ModelReport) -> str:
    change = model.recorded.get("lastChange")
    if not isinstance(change, Mapping):
        return '<p class="muted">No change recorded by the provider.</p>'
    when = _when(change.get("time"))
    detail = escape(str(change.get("detail") or change.get("action") or ""))
    if model.changed_by_last_up is True:
        scope = _badge("changed by the last up", "passed")
    elif model.changed_by_last_up is False:
        scope = _badge("not changed by the last up", "none")
    else:
        scope = ""
    return f'<p>{scope}{detail} <span class="muted">({when})</span></p>'


def _model_section(model: ModelReport, index: int) -> str:
    state, kind = _state(model)
    spec = model.spec
    title = escape(model.name)
    sub = (
        escape(spec.description or spec.displayName or "") if spec else "no longer declared in the stack file"
    )
    parts = [
        f'<section class="model" id="m{index}"><h2>{title} {_badge(state, kind)}{_gate_badge(model)}</h2>',
        f'<p class="sub">{sub}</p>',
        _facts(model),
        _versions_table(model),
    ]
    chart = loss_chart(model.name, model.versions)
    parts.append("<h3>Loss curve</h3>")
    if chart:
        parts.append(f'<div class="chart" role="img" aria-label="loss curve of {title}">{chart}</div>')
    else:
        parts.append('<p class="muted">The service reports no loss curve for this model.</p>')
    evaluated = [(v, v.evaluation_source) for v in model.versions if v.evaluation is not None]
    if model.gate is not None or evaluated:
        parts.append("<h3>Quality gate</h3>")
        gate = gate_chart(model.name, model.versions)
        if gate:
            parts.append(f'<div class="chart" role="img" aria-label="gate scores of {title}">{gate}</div>')
            parts.append(_worst(evaluated))
        else:
            parts.append('<p class="muted">No evaluation known (see the note above).</p>')
    parts.append("<h3>Last change</h3>")
    parts.append(_last_change(model))
    parts.append("</section>")
    return "".join(parts)


def _last_update(report: StackReport) -> str:
    update = report.last_update
    if update is None:
        return ""
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(update.changes.items())) or "no changes counted"
    return (
        f"<p>Last <code>pulumi {escape(update.kind)}</code>: {escape(update.result)} at "
        f"{_when(update.end or update.start)} ({escape(counts)})</p>"
    )


def _tile(model: ModelReport, index: int) -> str:
    state, kind = _state(model)
    return (
        f'<div class="tile"><a href="#m{index}">{escape(model.name)}</a>'
        f'<div class="badges">{_badge(state, kind)}{_gate_badge(model)}</div></div>'
    )


def render(report: StackReport) -> str:
    """The page (a complete HTML document)."""
    everything = [*report.models, *report.undeclared]
    note = ""
    if report.state_note:
        note = (
            f'<p class="note"><strong>{escape(report.state_note)}</strong>. Which model serves, the '
            "recorded gate scores and the last changes are not shown.</p>"
        )
    unrecorded = [
        v for m in everything for v in m.versions if v.serving is False and v.model.state is ModelState.ACTIVE
    ]
    if unrecorded:
        names = ", ".join(_code(v.model.name) for v in unrecorded)
        note += (
            f'<p class="note">Trained but not serving: {names}. Its quality gate failed or its '
            "<code>pulumi up</code> was interrupted; the next <code>pulumi up</code> evaluates it "
            "again if the spec still asks for it.</p>"
        )
    sections = "".join(_model_section(m, i) for i, m in enumerate(everything))
    tiles = "".join(_tile(m, i) for i, m in enumerate(everything))
    title = f"tuned-models: stack {report.stack}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p>Project <code>{escape(report.project)}</code>, stack file <code>{escape(report.file)}</code>,
backend <code>{escape(report.backend)}</code></p>
{_last_update(report)}
<p>Generated {_when(report.generated)} by <code>tuned-models report --stack {escape(report.stack)}</code></p>
</header>
<main>
{note}
<div class="tiles">{tiles}</div>
{sections or '<p class="muted">No model is declared or found on the service.</p>'}
</main>
<footer>Loss: the mean loss the service reports for each training step.
Scores: the mean over the gate's examples.</footer>
</body>
</html>
"""


_SVG_TAG = re.compile(r"<svg\b")


def chart_count(page: str) -> int:
    """How many inline charts a page has (tests, and a sanity check for callers)."""
    return len(_SVG_TAG.findall(page))
