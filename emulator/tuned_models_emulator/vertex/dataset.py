"""Supervised-tuning datasets: JSONL in Vertex AI's ``contents`` format, read from Cloud Storage.

One example a line::

    {"systemInstruction": {"parts": [{"text": "..."}]},          # optional
     "contents": [{"role": "user", "parts": [{"text": "..."}]},
                  {"role": "model", "parts": [{"text": "..."}]}, ...],
     "tools": [...]}                                              # optional

:func:`read_dataset` validates every line (the first problem is a 400 naming the URI, the line and
the field) and computes what the service reports in ``tuningDataStats``. There is no tokenizer in
the emulator: a text counts ``ceil(characters / 4)`` tokens. Examples over the per-example token
limit are dropped and reported (``totalTruncatedExampleCount``), not fatal.

For generation each ``model`` turn becomes a pair (the text of the user turn before it -> the
model turn's text), which is what a tuned endpoint answers from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tuned_models_emulator.errors import InvalidArgument
from tuned_models_emulator.vertex.catalog import MAX_EXAMPLE_TOKENS

ROLES = ("user", "model")
PART_KINDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "thought",
    "thoughtSignature",
)
TOP_LEVEL = ("contents", "systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config")
#: How many leading examples ``userDatasetExamples`` shows, and how much of each text.
SAMPLE_EXAMPLES = 3
SAMPLE_TEXT = 400
HISTOGRAM_BUCKETS = 6


def tokens(text: str) -> int:
    """The emulator's token count of a text: ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


@dataclass
class DatasetStats:
    """What one dataset contributed, per example (dropped examples excluded from the lists)."""

    example_count: int = 0
    character_count: int = 0
    input_tokens: list[int] = field(default_factory=list)
    output_tokens: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    truncated: list[int] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[dict[str, str]] = field(default_factory=list)


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def _text_of(parts: list[dict[str, Any]]) -> str:
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p.get("text", ""), str))


class _Problem(Exception):
    pass


def _parts(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise _Problem(f"{where}.parts must be a non-empty list")
    for index, part in enumerate(value):
        if not isinstance(part, dict) or not any(k in part for k in PART_KINDS):
            raise _Problem(
                f"{where}.parts[{index}] must be an object with one of text, inlineData, fileData, ..."
            )
        if "text" in part and not isinstance(part["text"], str):
            raise _Problem(f"{where}.parts[{index}].text must be a string")
    return value


def _example(record: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(contents, system instruction parts) of one line; raises _Problem."""
    if not isinstance(record, dict):
        raise _Problem("the line must be a JSON object")
    if "contents" not in record:
        if "messages" in record:
            raise _Problem('expected "contents" (the "messages" format is not accepted)')
        raise _Problem('"contents" is required')
    unknown = [k for k in record if k not in TOP_LEVEL]
    if unknown:
        raise _Problem(f'unknown field "{unknown[0]}" (expected contents, systemInstruction, tools)')
    contents = record["contents"]
    if not isinstance(contents, list) or not contents:
        raise _Problem("contents must be a non-empty list")
    for index, content in enumerate(contents):
        where = f"contents[{index}]"
        if not isinstance(content, dict):
            raise _Problem(f"{where} must be an object")
        role = content.get("role")
        if role not in ROLES:
            raise _Problem(f'{where}.role must be "user" or "model", got {json.dumps(role)}')
        _parts(content.get("parts"), where)
    if not any(c["role"] == "model" for c in contents):
        raise _Problem('contents needs at least one "model" turn (the target)')
    if contents[-1]["role"] != "model":
        raise _Problem('the last turn of contents must have role "model"')
    system = record.get("systemInstruction", record.get("system_instruction"))
    system_parts: list[dict[str, Any]] = []
    if system is not None:
        if not isinstance(system, dict):
            raise _Problem("systemInstruction must be an object")
        system_parts = _parts(system.get("parts"), "systemInstruction")
    return contents, system_parts


def _sample(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for content in contents:
        parts = []
        for part in content["parts"]:
            if isinstance(part.get("text"), str):
                text = part["text"]
                parts.append({"text": text if len(text) <= SAMPLE_TEXT else text[:SAMPLE_TEXT] + "..."})
        out.append({"role": content["role"], "parts": parts})
    return out


def read_dataset(uri: str, chunks: Iterable[bytes], *, keep_pairs: bool) -> DatasetStats:
    """Validate the JSONL at ``uri`` (its bytes in ``chunks``) and compute its statistics.

    Blank lines are skipped. Raises 400 :class:`InvalidArgument` naming the URI, the line (1-based)
    and the problem, or when the file holds no example.
    """
    stats = DatasetStats()
    for number, raw in enumerate(_lines(chunks), start=1):
        if not raw.strip():
            continue
        try:
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise _Problem("the line is not UTF-8") from None
            except json.JSONDecodeError as exc:
                raise _Problem(f"the line is not valid JSON ({exc.msg})") from None
            contents, system_parts = _example(record)
        except _Problem as problem:
            raise InvalidArgument(f"Invalid dataset {uri}: line {number}: {problem}.") from None
        stats.example_count += 1
        system_text = _text_of(system_parts)
        input_text = system_text + "".join(_text_of(c["parts"]) for c in contents if c["role"] == "user")
        output_text = "".join(_text_of(c["parts"]) for c in contents if c["role"] == "model")
        stats.character_count += len(input_text) + len(output_text)
        in_tokens, out_tokens = tokens(input_text), tokens(output_text)
        if in_tokens + out_tokens > MAX_EXAMPLE_TOKENS:
            stats.truncated.append(stats.example_count)
            continue
        stats.input_tokens.append(in_tokens)
        stats.output_tokens.append(out_tokens)
        stats.messages.append(len(contents))
        if len(stats.samples) < SAMPLE_EXAMPLES:
            stats.samples.append({"contents": _sample(contents)})
        if keep_pairs:
            last_user = ""
            for content in contents:
                text = _text_of(content["parts"])
                if content["role"] == "user":
                    last_user = text
                else:
                    stats.pairs.append({"textInput": last_user, "output": text})
    if stats.example_count == 0:
        raise InvalidArgument(f"Invalid dataset {uri}: the file holds no example.")
    if not stats.input_tokens:
        raise InvalidArgument(
            f"Invalid dataset {uri}: every example is over the limit of {MAX_EXAMPLE_TOKENS} tokens."
        )
    return stats


# --------------------------------------------------------------------------- rendering


def _number(value: float) -> int | float:
    """A double as proto3 JSON prints it (a whole number without a fraction)."""
    return int(value) if float(value).is_integer() else round(value, 6)


def _percentile(ordered: list[int], percent: float) -> int:
    """Nearest-rank percentile of a sorted list."""
    rank = max(1, math.ceil(percent / 100.0 * len(ordered)))
    return ordered[rank - 1]


def distribution(values: list[int]) -> dict[str, Any]:
    """A SupervisedTuningDatasetDistribution: sum, min, max, mean, median, p5, p95 and up to six
    equal-width buckets over [min, max] (empty buckets omitted), as the service reports them."""
    ordered = sorted(values)
    low, high = ordered[0], ordered[-1]
    # Bucket i covers [low + i*span/6, low + (i+1)*span/6) in whole numbers; integer arithmetic
    # keeps the edges exact.
    span = high - low + 1
    counts = [0] * HISTOGRAM_BUCKETS
    for value in ordered:
        counts[min(HISTOGRAM_BUCKETS - 1, (value - low) * HISTOGRAM_BUCKETS // span)] += 1
    buckets = []
    for index, count in enumerate(counts):
        if not count:
            continue
        left = low - (-index * span // HISTOGRAM_BUCKETS)
        right = low - (-(index + 1) * span // HISTOGRAM_BUCKETS) - 1
        buckets.append({"count": count, "left": left, "right": max(left, right)})
    return {
        "sum": str(sum(ordered)),
        "min": low,
        "max": high,
        "mean": _number(sum(ordered) / len(ordered)),
        "median": _percentile(ordered, 50),
        "p5": _percentile(ordered, 5),
        "p95": _percentile(ordered, 95),
        "buckets": buckets,
    }


def data_stats(stats: DatasetStats, step_count: int) -> dict[str, Any]:
    """The ``tuningDataStats`` of a job trained on ``stats`` (int64 fields as strings)."""
    out: dict[str, Any] = {
        "tuningDatasetExampleCount": str(stats.example_count),
        "totalTuningCharacterCount": str(stats.character_count),
        "totalBillableTokenCount": str(sum(stats.input_tokens) + sum(stats.output_tokens)),
        "tuningStepCount": str(step_count),
        "userInputTokenDistribution": distribution(stats.input_tokens),
        "userOutputTokenDistribution": distribution(stats.output_tokens),
        "userMessagePerExampleDistribution": distribution(stats.messages),
        "userDatasetExamples": [content for sample in stats.samples for content in sample["contents"]],
    }
    if stats.truncated:
        out["totalTruncatedExampleCount"] = str(len(stats.truncated))
        out["truncatedExampleIndices"] = [str(i) for i in stats.truncated[:100]]
        out["droppedExampleReasons"] = [
            f"Example {i} is longer than {MAX_EXAMPLE_TOKENS} tokens." for i in stats.truncated[:100]
        ]
    return {"supervisedTuningDataStats": out}
