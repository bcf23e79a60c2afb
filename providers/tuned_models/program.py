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

from tuned_models.model.desired import creation_order, source_of
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
    return ", ".join(parts)


def build(loaded: LoadedStack) -> dict[str, TunedModel]:
    """Declare one TunedModel per model (with its permissions and owner) and export each.

    Exports, per model: ``{"name", "state", "summary"}`` under the model's resource name.
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
            source=models[source] if source is not None else None,
        )
        models[name] = model
        outputs = pulumi.Output.all(
            **{k: getattr(model, k) for k in ("name", "state", "totalSteps", "finalMeanLoss", "exampleCount")}
        )
        pulumi.export(
            name, outputs.apply(lambda o: {"name": o["name"], "state": o["state"], "summary": summary(o)})
        )
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
        pulumi.log.warn(problem.line())
    if not loaded.ok:
        raise pulumi.RunError("the stack config is not valid:\n" + "\n".join(p.line() for p in loaded.errors))
    return build(loaded)
