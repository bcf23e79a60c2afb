"""What a stack has on the service, found without Pulumi state.

The deterministic ids (:mod:`tuned_models.model.ids`) carry the stack's tag, so the models of a
stack are the caller's models whose id has that tag (the backend finds them,
:meth:`~tuned_models.backends.base.Backend.list_models`); the resource name is the id's prefix.
Used by ``plan`` and ``status``. Performs reads only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tuned_models.backends.base import Backend
from tuned_models.model.ids import parse_id, stack_tag
from tuned_models.model.state import LiveModel
from tuned_models.stack import LoadedStack


@dataclass
class StackModels:
    """The live models of one stack, by resource name (several when a retrain is pending)."""

    by_resource: dict[str, list[LiveModel]] = field(default_factory=dict)
    adopted: dict[str, LiveModel] = field(default_factory=dict)


def find_stack_models(
    backend: Backend, project: str, stack: LoadedStack, progress: Callable[[str], None]
) -> StackModels:
    """The stack's models on the service, and the models its specs ``adopt``."""
    tag = stack_tag(project, stack.name)
    found = StackModels()
    progress(f"listing tuned models on the service for stack {stack.name} ...")
    for model in backend.list_models(tag):
        parsed = parse_id(model.model_id)
        if parsed is not None:
            found.by_resource.setdefault(parsed.resource, []).append(model)
    progress(f"found {sum(map(len, found.by_resource.values()))} tuned models of stack {stack.name}")
    for name, spec in stack.models.items():
        if spec.adopt:
            adopted = backend.find(spec.adopt)
            if adopted is not None:
                found.adopted[name] = adopted
    return found
