"""``tuned-models emulator``: a bad argument is one clear line and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuned_models_emulator.server import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "--port must be between 0 and 65535, got 70000"),
        (["--port", "-1"], "--port must be between 0 and 65535, got -1"),
        (["--api-key", ""], "--api-key needs a non-empty key: --api-key KEY or --api-key KEY=EMAIL"),
        (
            ["--api-key", "=dev@example.com"],
            "--api-key needs a non-empty key: --api-key KEY or --api-key KEY=EMAIL",
        ),
        (["--token", ""], "--token needs a non-empty token: --token TOKEN or --token TOKEN=EMAIL"),
        (
            ["--token", "=dana@example.com"],
            "--token needs a non-empty token: --token TOKEN or --token TOKEN=EMAIL",
        ),
        (["--admin-token", " "], "--admin-token must not be empty"),
        (["--step-seconds", "nan"], "--step-seconds must be positive and at most 86400, got nan"),
        (["--step-seconds", "1e300"], "--step-seconds must be positive and at most 86400, got 1e+300"),
        (
            ["--bucket", "gs://Bad_Name!"],
            "--bucket 'gs://Bad_Name!' is not a valid bucket name: 3-63 lowercase letters, digits, '-', "
            "'_' and '.', starting and ending with a letter or digit",
        ),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*argv, "--state", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"tuned-models emulator: {message}\n"
    assert not (tmp_path / "emulator.sqlite").exists()


def test_a_state_file_that_is_not_sqlite_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "notes.sqlite"
    state.write_text("these are my notes, not a database\n", encoding="utf-8")
    assert main(["--state", str(state), "--port", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"tuned-models emulator: --state {state} is not a usable SQLite database: file is not a database\n"
    )
    assert state.read_text(encoding="utf-8") == "these are my notes, not a database\n"


def test_a_state_under_a_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["--state", str(blocker / "emulator.sqlite"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"tuned-models emulator: --state {blocker / 'emulator.sqlite'} is not a usable SQLite"
    )
    assert err.count("\n") == 1


def test_a_bad_configured_bucket_is_a_value_error_in_process() -> None:
    from tuned_models_emulator.embedded import embedded_transport

    with pytest.raises(ValueError, match="'goog-data' is not a valid bucket name"):
        embedded_transport(None, buckets=("goog-data",))
