"""The quality gate's metrics and how a set of answers is judged."""

from __future__ import annotations

import pytest

from tuned_models.model.evaluation import WORST_COUNT, Answer, Gate, GateResult, judge, shorten
from tuned_models.model.scoring import Metric, chrf, contains, exact_match, mean_score, score

#: Sentence-level chrF of (expected, answer), as sacrebleu 2.6.0 computes it
#: (``CHRF().sentence_score(answer, [expected]).score / 100``): an independent implementation.
SACREBLEU_CHRF = [
    ("The cat sat on the mat.", "The cat sat on a mat.", 0.658003432933587),
    ("billing", "bug", 0.1075268817204301),
    ("twenty three", "twenty two", 0.53443169639544884),
    ("a", "abc", 0.7142857142857143),
    (
        "Quarterly revenue rose 8% on European subscriptions.",
        "Revenue grew 8 percent thanks to subscriptions in Europe.",
        0.4695833033932808,
    ),
    ("same", "same", 1.0),
    ("x", "y", 0.0),
]


@pytest.mark.parametrize(("expected", "answer", "reference"), SACREBLEU_CHRF)
def test_similarity_is_chrf_as_sacrebleu_computes_it(expected: str, answer: str, reference: float) -> None:
    assert chrf(expected, answer) == pytest.approx(reference, abs=1e-12)
    assert score(Metric.SIMILARITY, expected, answer) == pytest.approx(reference, abs=1e-12)


def test_chrf_ignores_whitespace_and_keeps_case() -> None:
    assert chrf("two hundred one", " two  hundred\tone ") == 1.0
    assert chrf("Billing", "billing") < 1.0
    assert chrf("billing", "") == 0.0


def test_exact_match_normalizes_whitespace_and_unicode_but_not_case() -> None:
    assert exact_match("twenty three", "  twenty\n three ") == 1.0
    assert exact_match("caf\u00e9", "cafe\u0301") == 1.0  # NFC: the same text
    assert exact_match("Billing", "billing") == 0.0
    assert exact_match("billing", "billing queue") == 0.0


def test_contains_finds_the_expected_output_inside_the_answer() -> None:
    assert contains("billing", "The queue is billing.") == 1.0
    assert contains("billing  queue", "the billing queue") == 1.0
    assert contains("refund", "The queue is billing.") == 0.0


def test_the_score_is_the_mean_and_the_worst_are_the_lowest_imperfect_answers() -> None:
    gate = Gate(Metric.EXACT_MATCH, 0.5, "sha256:x")
    answers = [Answer(i, f"in{i}", "e", "a", s) for i, s in enumerate([1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.2], 1)]
    result = judge(gate, "tunedModels/m", answers, "2025-01-01T00:00:00Z")
    assert result.score == round(mean_score([a.score for a in answers]), 4) == 0.5286
    assert result.passed
    assert [a.index for a in result.worst] == [2, 5, 7, 4]  # ties in example order; no perfect ones
    many = [Answer(i, "x", "e", "a", 0.0) for i in range(1, 20)]
    assert len(judge(gate, "m", many, "t").worst) == WORST_COUNT


def test_a_score_below_min_score_fails_and_says_so() -> None:
    gate = Gate(Metric.CONTAINS, 0.75, "sha256:x")
    result = judge(gate, "m", [Answer(1, "i", "e", "a", 1.0), Answer(2, "i", "e", "a", 0.0)], "t")
    assert not result.passed
    assert result.summary() == "contains 0.5 < minScore 0.75 on 2 examples"
    assert result.worst_lines() == ["#2 score 0: 'i' -> 'a' (expected 'e')"]


def test_the_recorded_result_reads_back_and_keeps_no_example_but_the_worst_shortened() -> None:
    long = "x" * 500
    gate = Gate(Metric.SIMILARITY, 0.4, "sha256:abc")
    result = judge(gate, "m", [Answer(1, long, long, "y", 0.0), Answer(2, "a", "b", "b", 1.0)], "t")
    record = result.to_output()
    assert record["worst"] == [
        {"example": 1, "textInput": shorten(long), "expected": shorten(long), "answer": "y", "score": 0.0}
    ]
    assert len(record["worst"][0]["textInput"]) == 200
    assert GateResult.from_output(record) == GateResult(
        gate, "m", 0.5, 2, (Answer(1, shorten(long), shorten(long), "y", 0.0),), "t"
    )
    assert Gate.from_record(record) == gate
    assert Gate.from_record({"metric": "unknown", "minScore": 1, "digest": "d"}) is None
