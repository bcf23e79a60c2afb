"""tuned-models: fine-tuned Gemini models as infrastructure as code.

What the Pulumi program and the provider process import: the stack schema and loader, datasets,
the planner, the ``TunedModel`` / ``TunedModelPermission`` dynamic resources, waiters and the CLI.
The API client lives in :mod:`tuned_models.gemini`. This package never imports :mod:`tuned_models_emulator`.
"""
