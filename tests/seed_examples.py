"""The seeds' fifteen number-generator examples (seeds 000-003), shared by the test folders."""

from __future__ import annotations

NUMBER_EXAMPLES: list[dict[str, str]] = [
    {"textInput": "1", "output": "2"},
    {"textInput": "3", "output": "4"},
    {"textInput": "-3", "output": "-2"},
    {"textInput": "twenty two", "output": "twenty three"},
    {"textInput": "two hundred", "output": "two hundred one"},
    {"textInput": "ninety nine", "output": "one hundred"},
    {"textInput": "8", "output": "9"},
    {"textInput": "-98", "output": "-97"},
    {"textInput": "1,000", "output": "1,001"},
    {"textInput": "10,100,000", "output": "10,100,001"},
    {"textInput": "thirteen", "output": "fourteen"},
    {"textInput": "eighty", "output": "eighty one"},
    {"textInput": "one", "output": "two"},
    {"textInput": "three", "output": "four"},
    {"textInput": "seven", "output": "eight"},
]
