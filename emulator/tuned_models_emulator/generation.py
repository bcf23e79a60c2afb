"""Inference on a tuned model: the output of the training example most similar to the prompt."""

from __future__ import annotations

import difflib
from typing import Any

GEMINI_SAFETY = (
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)
PALM_SAFETY = (
    "HARM_CATEGORY_DEROGATORY",
    "HARM_CATEGORY_TOXICITY",
    "HARM_CATEGORY_VIOLENCE",
    "HARM_CATEGORY_SEXUAL",
    "HARM_CATEGORY_MEDICAL",
    "HARM_CATEGORY_DANGEROUS",
)


def _norm_text(text: str) -> str:
    return " ".join(text.casefold().split())


def most_similar(examples: list[dict[str, str]], prompt: str, count: int) -> list[str]:
    """Outputs of the ``count`` training examples whose input is most similar to ``prompt``.

    Similarity is difflib's ratio on case-folded, whitespace-collapsed text (an exact match scores
    1.0); ties keep dataset order.
    """
    target = _norm_text(prompt)
    want = max(1, count)
    scored: list[tuple[float, int, str]] = []
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    for index, example in enumerate(examples):
        text = _norm_text(example.get("textInput", ""))
        if text == target:
            score = 2.0
        else:
            matcher.set_seq1(text)
            floor = scored[want - 1][0] if len(scored) >= want else 1.0
            # Upper bounds first: skip examples that cannot enter the top ``want``.
            if -matcher.real_quick_ratio() > floor or -matcher.quick_ratio() > floor:
                continue
            score = matcher.ratio()
        scored.append((-score, index, example.get("output", "")))
        scored.sort()
        del scored[want:]
    return [output for _, _, output in scored]


def prompt_of(contents: list[Any]) -> str:
    """The prompt of a GenerateContentRequest: the text parts of its last non-model turn."""
    for content in reversed(contents):
        if isinstance(content, dict) and content.get("role", "user") != "model":
            parts = content.get("parts") or []
            return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
    return ""


def _ratings(categories: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"category": c, "probability": "NEGLIGIBLE"} for c in categories]


def content_response(outputs: list[str]) -> dict[str, Any]:
    """A GenerateContentResponse with one candidate per output (all safety ratings NEGLIGIBLE)."""
    return {
        "candidates": [
            {
                "content": {"parts": [{"text": text}], "role": "model"},
                "finishReason": "STOP",
                "index": i,
                "safetyRatings": _ratings(GEMINI_SAFETY),
            }
            for i, text in enumerate(outputs)
        ],
        "promptFeedback": {"safetyRatings": _ratings(GEMINI_SAFETY)},
    }


def text_response(outputs: list[str]) -> dict[str, Any]:
    """A (PaLM) GenerateTextResponse with one candidate per output."""
    return {"candidates": [{"output": text, "safetyRatings": _ratings(PALM_SAFETY)} for text in outputs]}
