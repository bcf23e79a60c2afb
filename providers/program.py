"""The Pulumi program's body: stack config -> validated specs -> resources -> exports.

``__main__.py`` only calls :func:`run`. :func:`model_args` is also what tests and ``plan`` use
to turn a spec into the provider's inputs, so every path derives the same ``tunedModelId``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from providers.spec import ModelSpec


def model_args(stack: str, name: str, spec: ModelSpec, *, dataset_digest: str | None,
               example_count: int | None) -> dict[str, Any]:
    """The ``TunedModel`` inputs for one spec (camelCase; unset fields absent).

    Inline ``examples`` are passed as inputs (they are part of the stack file already);
    a ``dataset`` file is passed by path and digest only, never its examples.
    """
    args: dict[str, Any] = {
        "stack": stack,
        "resourceName": name,
        "displayName": spec.displayName,
        "description": spec.description,
        "baseModel": spec.baseModel,
        "tunedModelSource": spec.tunedModelSource.model_dump() if spec.tunedModelSource else None,
        "hyperparameters": spec.hyperparameters.declared(),
        "dataset": spec.dataset,
        "datasetDigest": dataset_digest,
        "exampleCount": example_count,
        "examples": [e.model_dump() for e in spec.examples] if spec.examples is not None else None,
        "temperature": spec.temperature,
        "topP": spec.topP,
        "topK": spec.topK,
        "timeout": spec.timeout,
        "wait": spec.wait,
        "adopt": spec.adopt,
    }
    return {k: v for k, v in args.items() if v is not None}


def summary(outputs: Mapping[str, Any]) -> str:
    """A one-line summary of a model's outputs for ``pulumi stack output``."""
    parts = [str(outputs.get("state", "?"))]
    if outputs.get("totalSteps"):
        parts.append(f"{outputs['totalSteps']} steps")
    if outputs.get("finalMeanLoss") is not None:
        parts.append(f"final mean loss {float(outputs['finalMeanLoss']):.4g}")
    if outputs.get("exampleCount"):
        parts.append(f"{outputs['exampleCount']} examples")
    return ", ".join(parts)


def project_root() -> Path:
    from providers.gemini import find_project_root

    return find_project_root()
