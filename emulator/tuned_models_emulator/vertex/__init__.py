"""The emulated Vertex AI surface: supervised tuning jobs, the Model Registry models and the
endpoints they produce, long-running operations, generation on tuned endpoints. See
``emulator/README.md`` for what is and is not emulated."""

from __future__ import annotations

from tuned_models_emulator.vertex.service import VertexAi

__all__ = ["VertexAi"]
