"""tuned-models: fine-tuned Gemini models as infrastructure as code.

Declare tuned models in a stack file (``stacks/Pulumi.<stack>.yaml``, run by this project's own
program) or, as a library, in your own Python Pulumi program::

    import pulumi
    from tuned_models import Hyperparameters, Permission, TunedModel, TunedModelArgs

    model = TunedModel(
        "number-generator",
        TunedModelArgs(
            baseModel="models/gemini-1.5-flash-001-tuning",
            dataset="datasets/number-generator.jsonl",  # relative to the project root
            hyperparameters=Hyperparameters(epochCount=5),
            permissions=[Permission(user="analyst@example.com", role="READER")],
        ),
        pulumi.ResourceOptions(protect=True),
    )
    pulumi.export("model", model.name)

The names below are the public surface (``__all__``). ``import tuned_models`` stays light: the
resources (and Pulumi, and the HTTP client) are imported on first use of their names, so the
offline ``tuned-models validate`` never loads them. This package never imports
:mod:`tuned_models_emulator`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tuned_models.tokens import TUNED_MODEL_OWNER_TYPE, TUNED_MODEL_PERMISSION_TYPE, TUNED_MODEL_TYPE

if TYPE_CHECKING:
    from tuned_models.model.datasets import DatasetInfo
    from tuned_models.model.spec import Example, Hyperparameters, TunedModelArgs, TunedModelSource
    from tuned_models.model.spec import PermissionSpec as Permission
    from tuned_models.permission import TunedModelOwner, TunedModelPermission
    from tuned_models.stack import LoadedStack, load_stack
    from tuned_models.tuned_model import TunedModel

__all__ = [
    "TUNED_MODEL_OWNER_TYPE",
    "TUNED_MODEL_PERMISSION_TYPE",
    "TUNED_MODEL_TYPE",
    "DatasetInfo",
    "Example",
    "Hyperparameters",
    "LoadedStack",
    "Permission",
    "TunedModel",
    "TunedModelArgs",
    "TunedModelOwner",
    "TunedModelPermission",
    "TunedModelSource",
    "load_stack",
]

#: Where each lazily imported public name lives: (module, attribute).
_LAZY: dict[str, tuple[str, str]] = {
    "DatasetInfo": ("tuned_models.model.datasets", "DatasetInfo"),
    "Example": ("tuned_models.model.spec", "Example"),
    "Hyperparameters": ("tuned_models.model.spec", "Hyperparameters"),
    "LoadedStack": ("tuned_models.stack", "LoadedStack"),
    "Permission": ("tuned_models.model.spec", "PermissionSpec"),
    "TunedModel": ("tuned_models.tuned_model", "TunedModel"),
    "TunedModelArgs": ("tuned_models.model.spec", "TunedModelArgs"),
    "TunedModelOwner": ("tuned_models.permission", "TunedModelOwner"),
    "TunedModelPermission": ("tuned_models.permission", "TunedModelPermission"),
    "TunedModelSource": ("tuned_models.model.spec", "TunedModelSource"),
    "load_stack": ("tuned_models.stack", "load_stack"),
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562). Raises AttributeError for any other name."""
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
