"""The Pulumi program's body: stack config -> validated specs -> resources -> exports.

``__main__.py`` only calls :func:`run`. Each model is a :class:`tuned_models.TunedModel`
declared from its spec, as a user's own program declares it (the library API); its inputs come
from :func:`tuned_models.model.desired.model_inputs`, the one desired-state builder ``plan``
uses too, so every path derives the same deterministic id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from tuned_models.backends import fields_for
from tuned_models.model.desired import creation_order, source_of
from tuned_models.model.evaluation import GateResult
from tuned_models.project import find_project_root
from tuned_models.runtime import stack_config
from tuned_models.stack import LoadedStack, parse_config
from tuned_models.tuned_model import TunedModel


def summary(outputs: Mapping[str, Any]) -> str:
    """A one-line summary of a model's outputs for ``pulumi stack output``."""
    parts = [str(outputs.get("state") or "?")]
    if outputs.get("totalSteps"):
        parts.append(f"{int(outputs['totalSteps'])} steps")
    if outputs.get("finalMeanLoss") is not None:
        parts.append(f"final mean loss {float(outputs['finalMeanLoss']):.4g}")
    if outputs.get("exampleCount"):
        parts.append(f"{int(outputs['exampleCount'])} examples")
    if outputs.get("billableTokens"):
        parts.append(f"{int(outputs['billableTokens'])} billable tokens an epoch")
    gate = GateResult.from_output(outputs.get("evaluation"))
    if gate is not None:
        parts.append(f"quality gate {'passed' if gate.passed else 'failed'}: {gate.summary()}")
    return ", ".join(parts)


def exported(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """A model's stack output: ``{name, state, summary}``, and ``evaluation``
    (``{metric, score, minScore, passed, examples}``) when its quality gate was evaluated."""
    out = {"name": outputs["name"], "state": outputs["state"], "summary": summary(outputs)}
    gate = GateResult.from_output(outputs.get("evaluation"))
    if gate is not None:
        out["evaluation"] = {
            "metric": gate.gate.metric.value,
            "score": gate.score,
            "minScore": gate.gate.min_score,
            "passed": gate.passed,
            "examples": gate.examples,
        }
    return out


def build(loaded: LoadedStack) -> dict[str, TunedModel]:
    """Declare one TunedModel per model (with its permissions and owner) and export each.

    Exports, per model, under its resource name: :func:`exported` (name, state, summary, and
    the quality gate's score when it has one).
    """
    models: dict[str, TunedModel] = {}
    for name in creation_order(loaded.models):
        spec = loaded.models[name]
        opts = pulumi.ResourceOptions(
            protect=spec.protect,
            retain_on_delete=spec.retainOnDelete,
            depends_on=[models[d] for d in spec.dependsOn],
        )
        source = source_of(spec)
        model = TunedModel(
            name,
            spec,
            opts,
            dataset=loaded.datasets.get(name),
            backend=loaded.connection.backend,
            validation=loaded.validation_datasets.get(name),
            source=models[source] if source is not None else None,
            evaluation=loaded.evaluations.get(name),
        )
        models[name] = model
        shown = (
            "name",
            "state",
            "totalSteps",
            "finalMeanLoss",
            "exampleCount",
            "evaluation",
            "billableTokens",
        )
        available = fields_for(loaded.connection.backend).outputs
        outputs = pulumi.Output.all(**{k: getattr(model, k) for k in shown if k in available})
        pulumi.export(name, outputs.apply(exported))
    return models


def run() -> dict[str, TunedModel]:
    """The program: load this stack's config, validate it, declare the resources.

    Raises ``pulumi.RunError`` listing every problem (``file:model:key: message``) when the
    config does not validate, before any resource is declared.
    """
    stack = pulumi.get_stack()
    source = f"stacks/Pulumi.{stack}.yaml"
    loaded = parse_config(stack_config(), source=source, project_root=find_project_root(), name=stack)
    for problem in loaded.warnings:
        pulumi.log.warn(problem.line(severity=False))  # the CLI prints it as a warning
    if not loaded.ok:
        raise pulumi.RunError("the stack config is not valid:\n" + "\n".join(p.line() for p in loaded.errors))
    return build(loaded)
