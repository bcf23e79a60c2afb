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

The cost is bounded whatever the file (up to 1 GiB): each line is decoded like a request body
(:func:`~tuned_models_emulator.codec.strict_json`: depth, surrogates, values) and is at most
:data:`MAX_LINE_BYTES`; the statistics are histograms (memory in the number of distinct counts,
not of examples); the pairs kept for generation hold at most :data:`MAX_PAIR_CHARS` characters and
are kept as JSON text, a few large strings rather than a million small objects (which the garbage
collector would walk, and freeing which would hold the interpreter).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tuned_models_emulator.codec import strict_json
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
#: The longest line (bytes): 8 MiB, sixteen times the text of the longest example the service
#: tunes on (131,072 tokens); a longer line is a 400 (the emulator's bound).
MAX_LINE_BYTES = 8 << 20
#: The text the pairs kept for generation may hold (characters): the pairs of the examples beyond
#: it are not kept (the emulator's bound; the statistics count every example).
MAX_PAIR_CHARS = 16 << 20
#: How many dropped examples are named in ``truncatedExampleIndices`` (all are counted).
MAX_NAMED_DROPS = 100
#: How many pairs are joined into one string of :attr:`DatasetStats.pair_chunks` at a time.
_PAIRS_PER_CHUNK = 4096
_pair_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def tokens(text: str) -> int:
    """The emulator's token count of a text: ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


@dataclass
class DatasetStats:
    """What one dataset contributed: counts of the examples kept (dropped ones excluded from the
    histograms, which map a count of tokens or messages to how many examples have it), the dropped
    examples (their number and the first :data:`MAX_NAMED_DROPS` indices), a few samples, and the
    pairs kept for generation: JSON ``{"textInput", "output"}`` objects, comma-joined a chunk at a
    time (:meth:`chunks`), ``pair_count`` of them holding ``pair_chars``
    characters of text."""

    example_count: int = 0
    character_count: int = 0
    input_tokens: Counter[int] = field(default_factory=Counter)
    output_tokens: Counter[int] = field(default_factory=Counter)
    messages: Counter[int] = field(default_factory=Counter)
    dropped: int = 0
    dropped_indices: list[int] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    pair_chunks: list[str] = field(default_factory=list)
    pending_pairs: list[str] = field(default_factory=list)
    pair_count: int = 0
    pair_chars: int = 0

    @property
    def kept(self) -> int:
        """How many examples are trained on (those within the token limit)."""
        return self.example_count - self.dropped

    def add_pair(self, text_input: str, output: str) -> None:
        """Keep one training pair for generation."""
        self.pending_pairs.append(_pair_json({"textInput": text_input, "output": output}))
        self.pair_count += 1
        self.pair_chars += len(text_input) + len(output)
        if len(self.pending_pairs) >= _PAIRS_PER_CHUNK:
            self.pair_chunks.append(",".join(self.pending_pairs))
            self.pending_pairs.clear()

    def chunks(self) -> list[str]:
        """The pairs kept, :data:`_PAIRS_PER_CHUNK` at a time: each chunk is comma-joined JSON
        ``{"textInput", "output"}`` objects (``"[" + chunk + "]"`` is a JSON list)."""
        return (
            [*self.pair_chunks, ",".join(self.pending_pairs)]
            if self.pending_pairs
            else list(self.pair_chunks)
        )


class _Problem(Exception):
    pass


def _lines(chunks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """``(number, line)`` of each line (1-based); raises _LineProblem for a line
    longer than :data:`MAX_LINE_BYTES`."""
    pending = bytearray()
    number = 0
    for chunk in chunks:
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            number += 1
            if end - start > MAX_LINE_BYTES:
                raise _LineProblem(number, _long_line())
            yield number, bytes(pending[start:end])
            start = end + 1
        del pending[:start]
        if len(pending) > MAX_LINE_BYTES:
            raise _LineProblem(number + 1, _long_line())
    if pending:
        yield number + 1, bytes(pending)


def _long_line() -> _Problem:
    return _Problem(f"the line is longer than {MAX_LINE_BYTES} bytes")


class _LineProblem(Exception):
    def __init__(self, number: int, problem: _Problem) -> None:
        super().__init__(str(problem))
        self.number = number
        self.problem = problem


def _text_of(parts: list[dict[str, Any]]) -> str:
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p.get("text", ""), str))


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
    try:
        for number, raw in _lines(chunks):
            if not raw.strip():
                continue
            try:
                contents, system_parts = _example(_decode_line(raw))
            except _Problem as problem:
                raise _LineProblem(number, problem) from None
            _count(stats, contents, system_parts, keep_pairs=keep_pairs)
    except _LineProblem as bad:
        raise InvalidArgument(f"Invalid dataset {uri}: line {bad.number}: {bad.problem}.") from None
    if stats.example_count == 0:
        raise InvalidArgument(f"Invalid dataset {uri}: the file holds no example.")
    if not stats.kept:
        raise InvalidArgument(
            f"Invalid dataset {uri}: every example is over the limit of {MAX_EXAMPLE_TOKENS} tokens."
        )
    return stats


def _decode_line(raw: bytes) -> Any:
    """One line's JSON; raises _Problem."""
    try:
        return strict_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Problem("the line is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _Problem(f"the line is not valid JSON ({exc.msg})") from None
    except ValueError as exc:  # a number of more digits than int() takes
        raise _Problem(f"the line is not valid JSON ({exc})") from None
    except InvalidArgument as exc:
        reason = exc.message.removeprefix("Invalid JSON payload received. ")
        raise _Problem(f"the line is not valid JSON ({reason})") from None


def _count(
    stats: DatasetStats,
    contents: list[dict[str, Any]],
    system_parts: list[dict[str, Any]],
    *,
    keep_pairs: bool,
) -> None:
    """Add one valid example to ``stats``."""
    stats.example_count += 1
    system_text = _text_of(system_parts)
    input_text = system_text + "".join(_text_of(c["parts"]) for c in contents if c["role"] == "user")
    output_text = "".join(_text_of(c["parts"]) for c in contents if c["role"] == "model")
    stats.character_count += len(input_text) + len(output_text)
    in_tokens, out_tokens = tokens(input_text), tokens(output_text)
    if in_tokens + out_tokens > MAX_EXAMPLE_TOKENS:
        stats.dropped += 1
        if len(stats.dropped_indices) < MAX_NAMED_DROPS:
            stats.dropped_indices.append(stats.example_count)
        return
    stats.input_tokens[in_tokens] += 1
    stats.output_tokens[out_tokens] += 1
    stats.messages[len(contents)] += 1
    if len(stats.samples) < SAMPLE_EXAMPLES:
        stats.samples.append({"contents": _sample(contents)})
    if keep_pairs and stats.pair_chars < MAX_PAIR_CHARS:
        last_user = ""
        for content in contents:
            text = _text_of(content["parts"])
            if content["role"] == "user":
                last_user = text
            else:
                stats.add_pair(last_user, text)


# --------------------------------------------------------------------------- rendering


def _number(value: float) -> int | float:
    """A double as proto3 JSON prints it (a whole number without a fraction)."""
    return int(value) if float(value).is_integer() else round(value, 6)


def _percentile(ordered: list[tuple[int, int]], total: int, percent: float) -> int:
    """Nearest-rank percentile of a histogram (``(value, count)`` sorted by value)."""
    rank = max(1, math.ceil(percent / 100.0 * total))
    seen = 0
    for value, count in ordered:
        seen += count
        if seen >= rank:
            return value
    return ordered[-1][0]


def distribution(histogram: Counter[int]) -> dict[str, Any]:
    """A SupervisedTuningDatasetDistribution of a histogram (value -> how many examples): sum, min,
    max, mean, median, p5, p95 and up to six equal-width buckets over [min, max] (empty buckets
    omitted), as the service reports them."""
    ordered = sorted(histogram.items())
    total = sum(count for _, count in ordered)
    values_sum = sum(value * count for value, count in ordered)
    low, high = ordered[0][0], ordered[-1][0]
    # Bucket i covers [low + i*span/6, low + (i+1)*span/6) in whole numbers; integer arithmetic
    # keeps the edges exact.
    span = high - low + 1
    counts = [0] * HISTOGRAM_BUCKETS
    for value, count in ordered:
        counts[min(HISTOGRAM_BUCKETS - 1, (value - low) * HISTOGRAM_BUCKETS // span)] += count
    buckets = []
    for index, count in enumerate(counts):
        if not count:
            continue
        left = low - (-index * span // HISTOGRAM_BUCKETS)
        right = low - (-(index + 1) * span // HISTOGRAM_BUCKETS) - 1
        buckets.append({"count": count, "left": left, "right": max(left, right)})
    return {
        "sum": str(values_sum),
        "min": low,
        "max": high,
        "mean": _number(values_sum / total),
        "median": _percentile(ordered, total, 50),
        "p5": _percentile(ordered, total, 5),
        "p95": _percentile(ordered, total, 95),
        "buckets": buckets,
    }


def data_stats(stats: DatasetStats, step_count: int) -> dict[str, Any]:
    """The ``tuningDataStats`` of a job trained on ``stats`` (int64 fields as strings)."""
    out: dict[str, Any] = {
        "tuningDatasetExampleCount": str(stats.example_count),
        "totalTuningCharacterCount": str(stats.character_count),
        "totalBillableTokenCount": str(
            sum(v * n for v, n in stats.input_tokens.items())
            + sum(v * n for v, n in stats.output_tokens.items())
        ),
        "tuningStepCount": str(step_count),
        "userInputTokenDistribution": distribution(stats.input_tokens),
        "userOutputTokenDistribution": distribution(stats.output_tokens),
        "userMessagePerExampleDistribution": distribution(stats.messages),
        "userDatasetExamples": [content for sample in stats.samples for content in sample["contents"]],
    }
    if stats.dropped:
        out["totalTruncatedExampleCount"] = str(stats.dropped)
        out["truncatedExampleIndices"] = [str(i) for i in stats.dropped_indices]
        out["droppedExampleReasons"] = [
            f"Example {i} is longer than {MAX_EXAMPLE_TOKENS} tokens." for i in stats.dropped_indices
        ]
    return {"supervisedTuningDataStats": out}
