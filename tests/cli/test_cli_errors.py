"""plan and status fail clearly, on stderr, when they cannot reach the service."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuned_models.backends import close_backends
from tuned_models.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["plan", "status"])
def test_no_credentials_for_a_remote_stack_is_one_clear_line_on_stderr(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import google.auth
    import google.auth.exceptions

    def no_adc(**_kwargs: object) -> object:
        raise google.auth.exceptions.DefaultCredentialsError("none")  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth, "default", no_adc)
    close_backends()
    assert main([command, "--stack", "dev", "--project-root", str(ROOT)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"tuned-models {command}: No credentials for the Gemini API.")
    assert "GOOGLE_API_KEY" in err and "cannot read the stack's encrypted apiKey" in err
    assert "Traceback" not in err
