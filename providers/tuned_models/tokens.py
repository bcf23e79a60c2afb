"""The Pulumi type tokens of this package's resources (stable: state refers to them)."""

from __future__ import annotations

#: A tuned model (:class:`tuned_models.tuned_model.TunedModel`).
TUNED_MODEL_TYPE = "pulumi-python:dynamic/gemini:TunedModel"
#: One grant on a tuned model (:class:`tuned_models.permission.TunedModelPermission`).
TUNED_MODEL_PERMISSION_TYPE = "pulumi-python:dynamic/gemini:TunedModelPermission"
#: The owner of a tuned model (:class:`tuned_models.permission.TunedModelOwner`).
TUNED_MODEL_OWNER_TYPE = "pulumi-python:dynamic/gemini:TunedModelOwner"
