"""Write the shipped training datasets under ``stacks/datasets/`` from the hand-written sources.

    .venv/bin/python scripts/make_datasets.py          # rewrite the files
    .venv/bin/python scripts/make_datasets.py --check  # exit 1 if a file differs

- ``number-generator.jsonl``: the 15 examples of the API's tuning tutorial (next number).
- ``support-tickets.jsonl``: support messages -> queue (``scripts/support_tickets.py``).
- ``summaries.csv``: paragraph -> one-sentence summary (``scripts/summaries.py``).
- ``*-eval.*``: held-out examples of each, for the stacks' quality gates (``evaluation``).

The output is deterministic (the sources' order) and checked in.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from summaries import HELD_OUT as HELD_OUT_SUMMARIES
from summaries import SUMMARIES
from support_tickets import HELD_OUT as HELD_OUT_TICKETS
from support_tickets import TICKETS

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "stacks" / "datasets"

NUMBER_GENERATOR: list[tuple[str, str]] = [
    ("1", "2"),
    ("3", "4"),
    ("-3", "-2"),
    ("twenty two", "twenty three"),
    ("two hundred", "two hundred one"),
    ("ninety nine", "one hundred"),
    ("8", "9"),
    ("-98", "-97"),
    ("1,000", "1,001"),
    ("10,100,000", "10,100,001"),
    ("thirteen", "fourteen"),
    ("eighty", "eighty one"),
    ("one", "two"),
    ("three", "four"),
    ("seven", "eight"),
]


#: Held-out numbers: six written differently from a training input, two unlike any.
NUMBER_GENERATOR_EVAL: list[tuple[str, str]] = [
    ("Twenty-two", "twenty three"),
    ("ninety-nine", "one hundred"),
    ("Eighty", "eighty one"),
    ("two hundred.", "two hundred one"),
    ("Thirteen", "fourteen"),
    ("seven!", "eight"),
    ("5", "6"),
    ("forty", "forty one"),
]


def _interleaved_tickets(tickets: dict[str, list[str]] = TICKETS) -> list[tuple[str, str]]:
    """Tickets in round-robin order over the categories, so any prefix is balanced."""
    out: list[tuple[str, str]] = []
    longest = max(len(v) for v in tickets.values())
    for i in range(longest):
        for category, messages in tickets.items():
            if i < len(messages):
                out.append((messages[i], category))
    return out


def _jsonl(pairs: list[tuple[str, str]]) -> str:
    return "".join(json.dumps({"textInput": a, "output": b}, ensure_ascii=False) + "\n" for a, b in pairs)


def _csv(pairs: list[tuple[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["textInput", "output"])
    writer.writerows(pairs)
    return buf.getvalue()


def files() -> dict[str, str]:
    """File name -> content of every generated dataset; raises ValueError on duplicates."""
    datasets = {
        "number-generator.jsonl": (NUMBER_GENERATOR, _jsonl),
        "support-tickets.jsonl": (_interleaved_tickets(), _jsonl),
        "summaries.csv": (SUMMARIES, _csv),
        "number-generator-eval.jsonl": (NUMBER_GENERATOR_EVAL, _jsonl),
        "support-tickets-eval.jsonl": (_interleaved_tickets(HELD_OUT_TICKETS), _jsonl),
        "summaries-eval.csv": (HELD_OUT_SUMMARIES, _csv),
    }
    out: dict[str, str] = {}
    for name, (pairs, render) in datasets.items():
        inputs = [a for a, _ in pairs]
        if len(set(inputs)) != len(inputs):
            dupes = sorted({a for a in inputs if inputs.count(a) > 1})
            raise ValueError(f"{name}: duplicate inputs: {dupes[:3]}")
        out[name] = render(pairs)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs")
    args = parser.parse_args()
    stale = []
    for name, content in files().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                stale.append(name)
        else:
            path.write_text(content, encoding="utf-8")
            print(f"wrote stacks/datasets/{name}")
    for name in stale:
        print(f"stacks/datasets/{name} is stale: run scripts/make_datasets.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
