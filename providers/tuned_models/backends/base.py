"""The interface a backend implements: :class:`Backend` (and :class:`Tracker`, :class:`Grants`).

The resource lifecycle (:mod:`tuned_models.lifecycle`), ``plan``, ``status`` and the waiter are
written once over it. A backend converts its service's responses into the neutral terms of
:mod:`tuned_models.model.state` (:class:`~tuned_models.model.state.LiveModel`,
:class:`~tuned_models.model.state.Progress`) in one place, and keeps everything specific to
its service (request bodies, how identity is stored, what delete removes) to itself.

Identity: every model is created under its deterministic id
(:func:`tuned_models.model.ids.tuned_model_id`); a backend stores it where its service lets
it (the Gemini API's client-chosen ``tunedModelId``; labels where the service chooses ids) and
reports it back as :attr:`LiveModel.model_id`, so a stack's models are found without state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tuned_models.model.desired import ModelInputs
from tuned_models.model.fields import FieldTable
from tuned_models.model.grants import Grant, Role
from tuned_models.model.state import LiveModel, Progress

#: The sampling seed of every evaluation request, so that the same model asked the same thing
#: answers the same where the service honours a seed (the Gemini API's ``generationConfig.seed``).
EVALUATION_SEED = 20240513


class Log(Protocol):
    """Where a backend reports what it did (``pulumi up``'s output, or a command's stderr)."""

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...


@dataclass(frozen=True)
class Submission:
    """The outcome of :meth:`Backend.submit`.

    ``name``: the model's service name. ``operation``: what tracks (and cancels) its training,
    if the service names one. ``total_steps``: when the service says up front. ``earlier``: the
    model of an earlier, interrupted ``up`` that submit found and adopted instead of training
    twice (None when it submitted).
    """

    name: str
    operation: str | None = None
    total_steps: int | None = None
    earlier: LiveModel | None = None


class Tracker(Protocol):
    """One training being waited for (see :func:`tuned_models.waiter.wait_for_training`)."""

    #: The model's service name.
    name: str

    def poll(self) -> Progress:
        """One observation; ``done`` once the training ended. Raises the client's errors."""
        ...

    def result(self) -> LiveModel:
        """The model after :meth:`poll` reported ``done``."""
        ...


class Grants(Protocol):
    """Per-model sharing, for a service that has it (the Gemini API's ``permissions``). The
    grants it returns carry their service ``name``."""

    def list(self, model: str) -> list[Grant]:
        """The grants on ``model``, the owner's included. Raises the client's NotFound when the
        model is gone."""
        ...

    def create(self, model: str, grant: Grant) -> Grant:
        """Grant ``grant`` on ``model``."""
        ...

    def set_role(self, name: str, role: Role) -> Grant:
        """Change the role of the existing grant ``name``."""
        ...

    def get(self, name: str) -> Grant | None:
        """The grant ``name``, or None when it (or its model) is gone."""
        ...

    def delete(self, name: str) -> None:
        """Revoke the grant ``name``; one already gone is success."""
        ...

    def transfer(self, model: str, email: str) -> None:
        """Make ``email`` the owner of ``model`` (the previous owner becomes a WRITER)."""
        ...


class Backend(Protocol):
    """A service that tunes models. Implementations are thread-safe (a provider process serves
    many resources at once) and hold their client; they raise the typed errors of
    :mod:`tuned_models.rest.errors` (:class:`~tuned_models.rest.errors.ServiceError` and its
    subclasses) unless a method says otherwise, and let every error whose ``transient`` is true
    through: the lifecycle rides those out by calling the method again
    (:class:`tuned_models.waiter.Patience`), so every method is safe to call again after one
    (``submit`` finds its own earlier submission, ``delete`` what is left)."""

    @property
    def fields(self) -> FieldTable:
        """What each field does on change (pure data, also reachable without a client)."""
        ...

    @property
    def grants(self) -> Grants | None:
        """Per-model sharing, or None when the service has none."""
        ...

    def find(self, name: str) -> LiveModel | None:
        """The model named ``name``, or None when it does not exist (any more)."""
        ...

    def list_models(self, tag: str) -> Iterator[LiveModel]:
        """Every model of the caller's whose deterministic id carries the stack tag ``tag``
        (:func:`tuned_models.model.ids.stack_tag`): how ``plan`` and ``status`` find a stack's
        models without Pulumi state."""
        ...

    def submit(self, inputs: ModelInputs, root: Path, log: Log) -> Submission:
        """Start training ``inputs`` under its deterministic id, exactly once. An earlier
        submission under that id (the same id, so certainly this stack's own) is looked up
        first, before any dataset is read or sent: ACTIVE (trained by an ``up`` that did not
        record it: interrupted, or its quality gate failed) or still training, it is adopted
        (``earlier``: the lifecycle waits for it and runs the gate, no second training); FAILED
        (or cancelled, or what it made deleted since), what is left of it is removed, said so on
        ``log`` (with the service's message), and it is submitted again. To submit, the backend
        reads its datasets under the project ``root`` and checks they are the ones the preview
        saw (the inputs' digests). :func:`tuned_models.model.planner.decide_unrecorded` says the
        same in ``plan``.

        Raises RuntimeError with a message for the user when the service refuses (an unknown
        base model) or a dataset changed since the preview."""
        ...

    def track(self, name: str, operation: str | None, epochs: int | None) -> Tracker:
        """A tracker for the training of ``name`` (``operation`` as :class:`Submission` or the
        outputs recorded it; None: find it)."""
        ...

    def progress(self, model: LiveModel) -> Progress | None:
        """Where the training of ``model`` is now (a running one asked from the service; for a
        FAILED one, ``error`` carries the service's message when it keeps one), or None when
        nothing is known."""
        ...

    def update(self, name: str, fields: Mapping[str, Any]) -> LiveModel:
        """Patch exactly ``fields`` (updatable fields of the table) in place."""
        ...

    def generate(self, name: str, prompt: str) -> str:
        """The answer of the ACTIVE model ``name`` to one user turn ``prompt``: the text of its
        first candidate (``""`` when the service gives none), for the quality gate.

        Sampling is the model's own (its declared ``temperature``, ``topP``, ``topK``: the gate
        judges the model as it serves), made as reproducible as the service allows: a fixed
        seed (:data:`EVALUATION_SEED`) where the service takes one, one candidate. Safe to
        retry: an answer changes nothing on the service. Raises the client's errors."""
        ...

    def delete(self, model: LiveModel, operation: str | None, log: Log) -> None:
        """Remove ``model`` and what its training made; stop a training still running. Gone
        already is success; what the service refuses is reported on ``log``, not dropped."""
        ...
