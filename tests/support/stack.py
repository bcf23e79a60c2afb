"""A stack file played through the real provider process as ``pulumi up`` plays it, and planned.

:class:`PlayedStack` writes ``stacks/Pulumi.<stack>.yaml`` in a project folder, builds each
resource's inputs the way the program builds them (the stack checker, then
:func:`tuned_models.model.desired.model_inputs` in creation order, sharing as child resources),
and runs ``up`` on a :class:`~tests.support.harness.MiniEngine`: a refresh of every resource in
the state (``refresh: always``), each declared resource in order, then the deletes of the
resources the file no longer declares (``retainOnDelete`` ones only leave the state).
:meth:`PlayedStack.plan` runs ``tuned-models plan`` on the same files with the engine's state
exported as ``pulumi stack export`` writes it.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import yaml

from tests.support.engine import API_KEY, PROVIDER, Emulator
from tests.support.harness import PROVIDER_KEY, MiniEngine, Step, serialize_provider
from tests.support.output import checked
from tests.support.state import engine_export, write_state
from tuned_models.backends import close_backends
from tuned_models.cli import main
from tuned_models.model.desired import creation_order, model_inputs, source_of
from tuned_models.permission import TunedModelOwnerProvider, TunedModelPermissionProvider, permission_args
from tuned_models.stack import LoadedStack, load_stack
from tuned_models.tokens import TUNED_MODEL_OWNER_TYPE, TUNED_MODEL_PERMISSION_TYPE, TUNED_MODEL_TYPE

PERMISSION_PROVIDER = serialize_provider(TunedModelPermissionProvider())
OWNER_PROVIDER = serialize_provider(TunedModelOwnerProvider())
BASE = "models/gemini-1.5-flash-001-tuning"


def examples(n: int = 20, tag: str = "") -> list[dict[str, str]]:
    """``n`` distinct examples (``tag`` makes another set)."""
    return [{"textInput": f"{tag}in {i}", "output": f"{tag}out {i}"} for i in range(n)]


class PlayedStack:
    """One stack of a project folder, its engine, and the emulator it runs against."""

    def __init__(self, root: Path, engine: MiniEngine, emu: Emulator) -> None:
        self.root = root
        self.engine = engine
        self.emu = emu
        self.name = engine.stack
        (root / "stacks").mkdir(parents=True, exist_ok=True)
        if not (root / "Pulumi.yaml").exists():
            (root / "Pulumi.yaml").write_text("name: tuned-models\nruntime: python\nstackConfigDir: stacks\n")
        self.retain: set[str] = set()
        self.protect: set[str] = set()

    def write(self, models: dict[str, Any]) -> LoadedStack:
        """Write the stack file declaring ``models`` (defaults: the base model, 2 epochs)."""
        config = {
            "tuned-models:endpoint": self.emu.base_url,
            "tuned-models:defaults": {
                "baseModel": BASE,
                "hyperparameters": {"epochCount": 2, "batchSize": 4, "learningRate": 0.001},
                "timeout": "2m",
            },
            "tuned-models:models": models,
        }
        path = self.root / "stacks" / f"Pulumi.{self.name}.yaml"
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        stack = load_stack(self.root, self.name)
        assert stack.ok, [p.line() for p in stack.problems]
        return stack

    def up(self) -> dict[str, str]:
        """``pulumi up`` with ``refresh: always``: the step of each resource, by name."""
        steps: dict[str, str] = {}
        for urn, entry in list(self.engine.state.items()):
            name = urn.rpartition("::")[2]
            step = self.engine.refresh(name, entry["type"])
            if step.op == "deleted":
                steps[name] = "refreshed away"
        stack = load_stack(self.root, self.name)
        assert stack.ok, [p.line() for p in stack.problems]
        declared: set[str] = set()
        names: dict[str, str] = {}
        for model in creation_order(stack.models):
            spec = stack.models[model]
            source = source_of(spec)
            inputs = model_inputs(
                self.engine.project,
                self.name,
                model,
                spec,
                stack.datasets.get(model),
                source_name=names[source] if source is not None else None,
            )
            step = self.engine.up(model, TUNED_MODEL_TYPE, {**inputs.to_inputs(), PROVIDER_KEY: PROVIDER})
            steps[model] = self._checked(step)
            declared.add(model)
            # The state records the resource options of the last up.
            (self.retain.add if spec.retainOnDelete else self.retain.discard)(model)
            (self.protect.add if spec.protect else self.protect.discard)(model)
            name = self.engine.outputs(model, TUNED_MODEL_TYPE)["name"]
            names[model] = name
            for grant in spec.permissions:
                child = f"{model}:{grant.key}"
                args = {**permission_args(name, grant), PROVIDER_KEY: PERMISSION_PROVIDER}
                steps[child] = self._checked(self.engine.up(child, TUNED_MODEL_PERMISSION_TYPE, args))
                declared.add(child)
            if spec.owner:
                child = f"{model}:owner"
                args = {"model": name, "emailAddress": spec.owner, PROVIDER_KEY: OWNER_PROVIDER}
                steps[child] = self._checked(self.engine.up(child, TUNED_MODEL_OWNER_TYPE, args))
                declared.add(child)
        # Deletes: children first; retainOnDelete resources only leave the state.
        leftovers = [
            (urn, entry)
            for urn, entry in self.engine.state.items()
            if urn.rpartition("::")[2] not in declared
        ]
        leftovers.sort(key=lambda item: item[1]["type"] == TUNED_MODEL_TYPE)
        for urn, entry in leftovers:
            name = urn.rpartition("::")[2]
            if name in self.retain:
                del self.engine.state[urn]
                self.retain.discard(name)
                steps[name] = "forget"
            else:
                self.engine.destroy(name, entry["type"])
                steps[name] = "delete"
        return steps

    def _checked(self, step: Step) -> str:
        assert step.op != "check-failed", step.failures
        return step.op

    def state_file(self) -> Path:
        export = engine_export(self.engine, retain=self.retain, protect=self.protect)
        return write_state(self.root / f"{self.name}.state.json", export)

    def _run(self, command: str, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        close_backends()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main([command, "--stack", self.name, "--project-root", str(self.root), *args])
        return code, out.getvalue()

    def plan(self, *, state: bool = True) -> dict[str, Any]:
        """``tuned-models plan --format json`` with the engine's state (or ``--no-state``)."""
        where = ["--state", str(self.state_file())] if state else ["--no-state"]
        code, out = self._run("plan", "--format", "json", *where)
        assert code == 0, out
        document = checked(out)
        entry: dict[str, Any] = document["stacks"][0]
        return entry

    def markdown(self) -> str:
        code, out = self._run("plan", "--state", str(self.state_file()))
        assert code == 0, out
        return out

    def status(self, *, state: bool = True) -> dict[str, Any]:
        where = ["--state", str(self.state_file())] if state else ["--no-state"]
        code, out = self._run("status", "--format", "json", *where)
        assert code == 0, out
        entry: dict[str, Any] = checked(out)["stacks"][0]
        return entry

    def prune(self, *args: str) -> dict[str, Any]:
        code, out = self._run("prune", "--format", "json", "--state", str(self.state_file()), *args)
        assert code == 0, out
        entry: dict[str, Any] = checked(out)["stacks"][0]
        return entry


def actions(plan: dict[str, Any]) -> dict[str, str]:
    return {m["model"]: m["action"] for m in plan["models"]}


__all__ = ["API_KEY", "BASE", "PlayedStack", "actions", "examples"]
