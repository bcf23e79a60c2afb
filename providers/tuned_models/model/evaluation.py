"""The quality gate in the terms of the planner and of the outputs. Pure: no I/O.

- :class:`Gate`: what a model declares (``evaluation``): the metric, ``minScore`` and the digest
  of the canonical examples (never the examples: DESIGN.md decision 2).
- :class:`Answer`: one example, the model's answer to it and its score.
- :class:`GateResult`: what an evaluation found: the mean score over the examples, whether it
  passed, and the :data:`WORST_COUNT` worst answers. It is recorded in the model's
  ``evaluation`` output (:meth:`GateResult.to_output`), with the gate it was judged against,
  so a changed gate is seen by comparing digests and numbers, not examples.

The score shown and the score judged are the same number: the mean rounded to
:data:`SCORE_DIGITS` decimals; a gate passes when that score is at least ``minScore``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tuned_models.model.scoring import Metric, mean_score

#: How many of the lowest-scoring examples a result keeps (and ``pulumi up`` prints on failure).
WORST_COUNT = 5
#: Texts of the worst examples are cut to this many characters in outputs and messages.
MAX_SHOWN_CHARS = 200
#: A gate's score is the mean rounded to this many decimals.
SCORE_DIGITS = 4


def shorten(text: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


@dataclass(frozen=True)
class Gate:
    """A declared quality gate: ``metric``, ``min_score`` and the examples' ``digest``."""

    metric: Metric
    min_score: float
    digest: str

    def describe(self) -> str:
        """``exactMatch >= 0.8``."""
        return f"{self.metric.value} >= {self.min_score:g}"

    def as_change_value(self) -> dict[str, Any]:
        """The gate as a plan shows it (the digest shortened)."""
        return {"metric": self.metric.value, "minScore": self.min_score, "examples": self.digest[:19]}

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None) -> Gate | None:
        """The gate a recorded ``evaluation`` output was judged against (None when there is
        none, or it is not one)."""
        if not isinstance(record, Mapping):
            return None
        try:
            return cls(Metric(record["metric"]), float(record["minScore"]), str(record["digest"]))
        except (KeyError, ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Answer:
    """One evaluation example (``index``: its 1-based position), the model's answer, its score."""

    index: int
    text_input: str
    expected: str
    answer: str
    score: float

    def to_output(self) -> dict[str, Any]:
        return {
            "example": self.index,
            "textInput": shorten(self.text_input),
            "expected": shorten(self.expected),
            "answer": shorten(self.answer),
            "score": round(self.score, SCORE_DIGITS),
        }

    @classmethod
    def from_output(cls, value: Mapping[str, Any]) -> Answer:
        return cls(
            int(value.get("example") or 0),
            str(value.get("textInput") or ""),
            str(value.get("expected") or ""),
            str(value.get("answer") or ""),
            float(value.get("score") or 0.0),
        )


@dataclass(frozen=True)
class GateResult:
    """The outcome of evaluating ``model`` against ``gate`` on ``examples`` examples."""

    gate: Gate
    model: str
    score: float
    examples: int
    worst: tuple[Answer, ...]
    evaluated_at: str

    @property
    def passed(self) -> bool:
        return self.score >= self.gate.min_score

    def summary(self) -> str:
        """``exactMatch 0.9 >= minScore 0.8 on 10 examples`` (``<`` when it failed)."""
        sign = ">=" if self.passed else "<"
        return (
            f"{self.gate.metric.value} {self.score:.4g} {sign} minScore {self.gate.min_score:g} "
            f"on {self.examples} examples"
        )

    def worst_lines(self) -> list[str]:
        """One line per worst example: ``#3 score 0: 'input' -> 'answer' (expected 'output')``."""
        return [
            f"#{a.index} score {a.score:.3g}: {shorten(a.text_input, 80)!r} -> {shorten(a.answer, 80)!r} "
            f"(expected {shorten(a.expected, 80)!r})"
            for a in self.worst
        ]

    def to_output(self) -> dict[str, Any]:
        """The ``evaluation`` output: ``{metric, minScore, score, examples, passed, digest, model,
        worst, evaluatedAt}`` (no example but the worst few, shortened)."""
        return {
            "metric": self.gate.metric.value,
            "minScore": self.gate.min_score,
            "score": self.score,
            "examples": self.examples,
            "passed": self.passed,
            "digest": self.gate.digest,
            "model": self.model,
            "worst": [a.to_output() for a in self.worst],
            "evaluatedAt": self.evaluated_at,
        }

    @classmethod
    def from_output(cls, record: Mapping[str, Any] | None) -> GateResult | None:
        """A recorded ``evaluation`` output read back; None when there is none (or not one)."""
        gate = Gate.from_record(record)
        if gate is None or record is None:
            return None
        worst = record.get("worst") or []
        return cls(
            gate,
            str(record.get("model") or ""),
            float(record.get("score") or 0.0),
            int(record.get("examples") or 0),
            tuple(Answer.from_output(a) for a in worst if isinstance(a, Mapping)),
            str(record.get("evaluatedAt") or ""),
        )


def judge(gate: Gate, model: str, answers: Sequence[Answer], evaluated_at: str) -> GateResult:
    """The result of ``answers`` against ``gate``: the mean score (rounded to
    :data:`SCORE_DIGITS`) and the :data:`WORST_COUNT` lowest-scoring answers that are not perfect
    (ties in example order)."""
    score = round(mean_score([a.score for a in answers]), SCORE_DIGITS)
    imperfect = sorted((a for a in answers if a.score < 1.0), key=lambda a: (a.score, a.index))
    worst = imperfect[:WORST_COUNT]
    return GateResult(gate, model, score, len(answers), tuple(worst), evaluated_at)
