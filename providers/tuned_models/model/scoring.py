"""Scoring a model's answers against the expected outputs: the metrics of the quality gate.

Pure functions, no I/O. Every metric scores one answer in ``[0, 1]``; a gate's score is the
mean over its examples (:func:`mean_score`).

``exactMatch``
    1 when the answer equals the expected output after :func:`normalize` (Unicode NFC, leading
    and trailing whitespace removed, every run of whitespace one space), else 0. Case counts.
``contains``
    1 when the normalized expected output occurs in the normalized answer, else 0. Case counts.
``similarity``
    chrF (Popović, "chrF: character n-gram F-score for automatic MT evaluation", WMT 2015), the
    sentence-level form and defaults of sacrebleu's ``CHRF``: character n-grams of orders 1 to
    :data:`CHRF_ORDER` (6) over the text with all whitespace removed (NFC first, case kept);
    for each order, precision = matching n-grams / the answer's n-grams and recall = matching
    n-grams / the expected output's n-grams (a match counts an n-gram at most as often as it
    occurs in both); precision and recall are averaged over the orders that both texts are
    long enough to have, and combined as F-beta with :data:`CHRF_BETA` = 2 (recall weighs
    twice precision). No order in common (a one-character text against a longer one still
    shares order 1; only an empty text has none) scores 0.

chrF is written here rather than taken from sacrebleu: it is twenty lines, while sacrebleu
brings numpy, lxml, regex and others into the provider process for one function.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum

#: chrF's highest character n-gram order (sacrebleu's default).
CHRF_ORDER = 6
#: chrF's beta: recall weighs beta times as much as precision (sacrebleu's default).
CHRF_BETA = 2.0


class Metric(StrEnum):
    """How an answer is compared with the expected output."""

    EXACT_MATCH = "exactMatch"
    CONTAINS = "contains"
    SIMILARITY = "similarity"


def normalize(text: str) -> str:
    """``text`` in NFC with whitespace trimmed and each whitespace run collapsed to one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def exact_match(expected: str, answer: str) -> float:
    """1.0 when the normalized texts are equal, else 0.0."""
    return 1.0 if normalize(expected) == normalize(answer) else 0.0


def contains(expected: str, answer: str) -> float:
    """1.0 when the normalized expected output occurs in the normalized answer, else 0.0."""
    return 1.0 if normalize(expected) in normalize(answer) else 0.0


def _char_ngrams(text: str, n: int) -> Counter[str]:
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def chrf(expected: str, answer: str, *, order: int = CHRF_ORDER, beta: float = CHRF_BETA) -> float:
    """The chrF score of ``answer`` against ``expected``, in ``[0, 1]`` (see the module doc)."""
    ref = "".join(unicodedata.normalize("NFC", expected).split())
    hyp = "".join(unicodedata.normalize("NFC", answer).split())
    precision = recall = 0.0
    effective = 0
    for n in range(1, order + 1):
        ref_grams, hyp_grams = _char_ngrams(ref, n), _char_ngrams(hyp, n)
        if not ref_grams or not hyp_grams:
            continue
        matches = sum((ref_grams & hyp_grams).values())
        precision += matches / sum(hyp_grams.values())
        recall += matches / sum(ref_grams.values())
        effective += 1
    if effective == 0:
        return 0.0
    precision, recall = precision / effective, recall / effective
    if precision + recall == 0:
        return 0.0
    factor = beta * beta
    return (1 + factor) * precision * recall / (factor * precision + recall)


SCORERS: dict[Metric, Callable[[str, str], float]] = {
    Metric.EXACT_MATCH: exact_match,
    Metric.CONTAINS: contains,
    Metric.SIMILARITY: chrf,
}


def score(metric: Metric, expected: str, answer: str) -> float:
    """The score of one ``answer`` under ``metric``, in ``[0, 1]``."""
    return SCORERS[metric](expected, answer)


def mean_score(scores: Sequence[float]) -> float:
    """The mean of ``scores``; 0.0 for none."""
    return sum(scores) / len(scores) if scores else 0.0
