"""A tuned model as a backend reports it: its :class:`ModelState`, its training
:class:`Progress`, and the :class:`LiveModel` view every backend returns.

These are the backend-neutral terms the lifecycle, the planner, ``plan`` and ``status`` use;
each backend converts its service's responses into them in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ModelState(StrEnum):
    """Where a tuned model is in its life: CREATING while it trains, then ACTIVE or FAILED."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Progress:
    """One observation of a training: ``done`` once it ended (``error``: the service's message
    when it failed). ``percent`` and ``total_steps`` are None when the service does not say;
    ``status`` then says what it does say (``tuning job running, 39 steps``)."""

    percent: float | None = None
    step: int = 0
    total_steps: int | None = None
    epoch: int = 0
    epochs: int | None = None
    mean_loss: float | None = None
    done: bool = False
    error: str | None = None
    status: str | None = None

    def line(self, label: str) -> str:
        """``label: training 47% (step 9/19, epoch 2/5, mean loss 1.675)``, or ``label: <status>``
        when only a status is known."""
        if self.percent is None and self.status:
            return f"{label}: {self.status}"
        epoch = f", epoch {self.epoch}/{self.epochs}" if self.epochs else f", epoch {self.epoch}"
        loss = f", mean loss {self.mean_loss:.4g}" if self.mean_loss is not None else ""
        percent = self.percent or 0.0
        return f"{label}: training {percent:.0f}% (step {self.step}/{self.total_steps or 0}{epoch}{loss})"


@dataclass(frozen=True)
class LossPoint:
    """One step of a training's loss curve, as the service reports it (the Gemini API's
    ``tuningTask.snapshots``): the step, the epoch it belongs to, the mean loss."""

    step: int
    epoch: int
    mean_loss: float


@dataclass(frozen=True)
class Deployment:
    """Where a tuned model lives when its service keeps the training apart from what it made
    (Vertex AI): the ``tuning_job``, the Model Registry ``model`` version it produced
    (``projects/.../models/M@1``) and the ``endpoint`` that serves it (None until made, or when
    deleted since). A service whose tuned model is one resource (the Gemini API) has none."""

    tuning_job: str
    model: str | None = None
    endpoint: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{tuningJob, model, endpoint}``, as the vertex backend's outputs name them."""
        return {"tuningJob": self.tuning_job, "model": self.model, "endpoint": self.endpoint}


@dataclass(frozen=True)
class LiveModel:
    """A model on the service, in backend-neutral terms.

    ``model_id``: the deterministic id it was created under (or its service id when another
    tool made it). ``mutable``: the updatable fields as the service shows them. ``training``:
    the create-only fields the service shows (base model, source, resolved hyperparameters).
    ``outputs``: the resource outputs this view determines (``None`` where it shows nothing).
    ``progress``: the last training progress the model itself records (its final step, epoch
    and loss once trained), or None. ``loss_curve``: every step's mean loss the service reports
    (empty when it reports none). ``deployment``: its job, registry model and endpoint, where
    the service has them (:class:`Deployment`).
    """

    name: str
    model_id: str
    state: ModelState
    mutable: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    progress: Progress | None = None
    create_time: datetime | None = None
    source: str | None = None
    loss_curve: tuple[LossPoint, ...] = ()
    deployment: Deployment | None = None


def iso_z(value: datetime | None) -> str | None:
    """RFC 3339 with ``Z`` for UTC (how the APIs write times), or None."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")
