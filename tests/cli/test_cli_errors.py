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


@pytest.mark.parametrize("command", ["plan", "status"])
def test_a_vertex_stack_without_credentials_or_a_project_is_one_clear_line(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import google.auth
    import google.auth.exceptions

    def no_adc(**_kwargs: object) -> object:
        raise google.auth.exceptions.DefaultCredentialsError("none")  # type: ignore[no-untyped-call]

    monkeypatch.setattr(google.auth, "default", no_adc)
    for name in ("GOOGLE_OAUTH_ACCESS_TOKEN", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "stacks" / "datasets").mkdir(parents=True)
    (tmp_path / "Pulumi.yaml").write_text("name: tuned-models\nruntime: python\n")
    (tmp_path / "stacks" / "datasets" / "t.jsonl").write_bytes(
        (ROOT / "stacks/datasets/support-tickets.jsonl").read_bytes()
    )
    stack = (
        "config:\n  tuned-models:backend: vertex\n  tuned-models:vertex: {bucket: gs://b-1%s}\n"
        "  tuned-models:models:\n    m: {baseModel: gemini-2.5-flash, dataset: stacks/datasets/t.jsonl}\n"
    )
    (tmp_path / "stacks" / "Pulumi.real.yaml").write_text(
        stack % ", project: my-project, location: us-central1"
    )
    (tmp_path / "stacks" / "Pulumi.env.yaml").write_text(stack % "")
    close_backends()
    assert main([command, "--stack", "real", "--project-root", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.startswith(f"tuned-models {command}: No credentials for Vertex AI.")
    assert "GOOGLE_OAUTH_ACCESS_TOKEN" in err and "apiKey" not in err
    close_backends()
    assert main([command, "--stack", "env", "--project-root", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines()[-1] == (
        f"tuned-models {command}: tuned-models:vertex: the vertex backend needs project, location "
        "(project and location may come from GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION)"
    )
