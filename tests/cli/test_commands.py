"""The ``tuned-models`` command frame: help, plan/status hand-off, emulator forwarding."""

from __future__ import annotations

import argparse
import sys
import types
from dataclasses import dataclass, field

import pytest

import tuned_models.cli as cli
from tuned_models.cli import main


@pytest.mark.parametrize("command", ["validate", "plan", "status"])
def test_every_command_has_help_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tuned-models {command}")
    assert "examples:" in out
    assert f"tuned-models {command} " in out.split("examples:")[1]


def test_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("validate", "plan", "status", "emulator"):
        assert command in out


def test_a_usage_error_exits_2_and_1_under_detailed_exitcode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--stack", "dev", "--all"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert main([]) == 2
    # 2 is "changes" under --detailed-exitcode: a usage error there is 1, never mistaken for a plan
    assert main(["plan", "--stack", "local", "--bogus", "--detailed-exitcode"]) == 1
    assert main(["prune", "--detailed-exitcode"]) == 1


def _fake_module(
    monkeypatch: pytest.MonkeyPatch, name: str, function: str, calls: list[argparse.Namespace]
) -> None:
    module = types.ModuleType(name)

    def run(args: argparse.Namespace) -> int:
        calls.append(args)
        return 0

    setattr(module, function, run)
    monkeypatch.setitem(sys.modules, name, module)


def test_plan_hands_its_arguments_to_run_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[argparse.Namespace] = []
    _fake_module(monkeypatch, "tuned_models.cli.plan", "run_plan", calls)
    assert main(["plan", "--stack", "dev", "--format", "json"]) == 0
    assert (calls[0].stack, calls[0].format) == ("dev", "json")


def test_status_hands_its_arguments_to_run_status(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[argparse.Namespace] = []
    _fake_module(monkeypatch, "tuned_models.cli.status", "run_status", calls)
    assert main(["status", "--stack", "local"]) == 0
    assert (calls[0].stack, calls[0].format) == ("local", "table")


@dataclass
class _FakeEntryPoint:
    name: str
    received: list[list[str]] = field(default_factory=list)

    def load(self) -> object:
        def run(argv: list[str]) -> int:
            self.received.append(argv)
            return 3

        return run


def test_emulator_forwards_every_argument_to_the_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = _FakeEntryPoint("cli")
    monkeypatch.setattr(
        cli,
        "entry_points",
        lambda group: [_FakeEntryPoint("transport"), entry] if group == "tuned_models.embedded" else [],
    )
    assert main(["emulator", "--port", "8471", "--help"]) == 3
    assert entry.received == [["--port", "8471", "--help"]]


def test_emulator_without_an_entry_point_exits_2_but_still_has_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    assert main(["emulator", "--port", "1"]) == 2
    assert "not available" in capsys.readouterr().err
    assert main(["emulator", "--help"]) == 0
    assert "examples:" in capsys.readouterr().out
