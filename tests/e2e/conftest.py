"""End-to-end fixtures: the real Pulumi CLI on a temporary copy of the project, against an emulator
server on loopback.

The CLI comes from ``TUNED_MODELS_PULUMI_BIN`` (set by ``scripts/test.sh`` from
``scripts/install-pulumi.sh``) or ``pulumi`` on PATH. Without one these tests are skipped, unless
``TUNED_MODELS_REQUIRE_E2E=1`` (CI), which turns a missing CLI into a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.engine import Emulator, fresh, running_emulator

ROOT = Path(__file__).resolve().parents[2]
#: Generous bounds: a command that hangs fails the test instead of the CI job.
COMMAND_TIMEOUT = 300.0


def pulumi_bin() -> Path | None:
    """The directory of the Pulumi CLI to test with, or None."""
    configured = os.environ.get("TUNED_MODELS_PULUMI_BIN")
    if configured:
        return Path(configured)
    found = shutil.which("pulumi")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def pulumi_dir() -> Path:
    found = pulumi_bin()
    if found is None or not (found / "pulumi").exists():
        if os.environ.get("TUNED_MODELS_REQUIRE_E2E") == "1":
            pytest.fail("no Pulumi CLI: run scripts/install-pulumi.sh (TUNED_MODELS_PULUMI_BIN)")
        pytest.skip("no Pulumi CLI (scripts/install-pulumi.sh provides one)")
    return found


class Project:
    """A copy of the Pulumi project in a temporary directory, with its own file backend.

    ``pulumi(...)`` runs the real CLI there, offline, with the repository's virtualenv.
    """

    def __init__(self, root: Path, pulumi_dir: Path, stack: str, passphrase: str = "") -> None:
        self.root = root
        self.stack = stack
        self.state_dir = root / ".tuned-models" / "pulumi-state"
        self.state_dir.mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy2(ROOT / name, root / name)
        shutil.copytree(ROOT / "stacks" / "datasets", root / "stacks" / "datasets")
        (root / ".venv").symlink_to(ROOT / ".venv")
        self.env = {
            **os.environ,
            "PATH": f"{pulumi_dir}:{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(root / ".tuned-models" / "pulumi-home"),
            "PULUMI_BACKEND_URL": f"file://{self.state_dir}",
            "PULUMI_CONFIG_PASSPHRASE": passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # as scripts/pulumi-env.sh: every model of a stack trains at the same time
            "PULUMI_PARALLEL": "64",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS"):
            self.env.pop(name, None)
        self.stack_file = root / "stacks" / f"Pulumi.{stack}.yaml"

    def write_stack(self, config: Mapping[str, Any]) -> None:
        """Write the stack file's ``config:`` (keeping the salt the CLI wrote, if any)."""
        doc: dict[str, Any] = {}
        if self.stack_file.exists():
            doc = yaml.safe_load(self.stack_file.read_text()) or {}
        doc["config"] = {**{k: v for k, v in doc.get("config", {}).items() if k.endswith("apiKey")}, **config}
        self.stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``pulumi ARGS --stack STACK --non-interactive``; output is stdout and stderr."""
        proc = subprocess.run(
            ["pulumi", *args, "--stack", self.stack, "--non-interactive"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        proc.stdout += proc.stderr
        if check and proc.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}")
        return proc

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start ``pulumi ARGS`` in its own process group (for the interruption tests)."""
        return subprocess.Popen(
            ["pulumi", *args, "--stack", self.stack, "--non-interactive"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def init(self) -> None:
        self.pulumi("stack", "init")

    def outputs(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.pulumi("stack", "output", "--json").stdout)
        return out

    def state_text(self) -> str:
        """The stack's checkpoint file as text."""
        files = list(self.state_dir.rglob(f"{self.stack}.json"))
        assert len(files) == 1, files
        return files[0].read_text()

    def resources(self) -> list[dict[str, Any]]:
        state = json.loads(self.state_text())
        found: list[dict[str, Any]] = state["checkpoint"]["latest"].get("resources") or []
        return found

    def preview_steps(self) -> list[dict[str, Any]]:
        """``pulumi preview --json``'s steps for the model resources."""
        proc = self.pulumi("preview", "--json")
        steps: list[dict[str, Any]] = json.loads(proc.stdout[: proc.stdout.rindex("}") + 1])["steps"]
        return [s for s in steps if s["urn"].split("::")[-2].startswith("pulumi-python:dynamic")]


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[Emulator]:
    with running_emulator(step_seconds=0.02) as emu:
        yield emu


@pytest.fixture
def emu(emulator_server: Emulator) -> Emulator:
    return fresh(emulator_server, 0.02)


@pytest.fixture
def project(tmp_path: Path, pulumi_dir: Path) -> Project:
    proj = Project(tmp_path / "project", pulumi_dir, "e2e-" + secrets.token_hex(3))
    proj.init()
    return proj


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL a process group started by :meth:`Project.start` (whatever is left of it)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
