"""What a stack has on the service: its Pulumi state, and the models that carry its tag.

A model is this stack's when the stack's Pulumi state records it, or when it carries the exact
deterministic id of a model the stack file declares. The stack tag in ids
(:func:`tuned_models.model.ids.stack_tag`) only narrows the listing: models that carry the tag
but are neither in the state nor declared are candidates the caller labels ("not managed" with
state, "not attributed" without), never this stack's. :meth:`StackView.stack_models` applies that
rule per resource. Used by ``plan``, ``status``, ``prune`` and ``report``. Performs reads only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tuned_models.backends.base import Backend
from tuned_models.model.desired import Desired
from tuned_models.model.ids import parse_id, stack_tag
from tuned_models.model.state import Deployment, LiveModel, ModelState
from tuned_models.stack.state import StackState


class ManagedBy(StrEnum):
    """Why a model on the service is the stack's."""

    STATE = "state"
    UNDECLARED = "state (no longer declared)"
    DECLARED_ID = "declared id"


@dataclass(frozen=True)
class StackModel:
    """A model of the stack on the service, for the resource ``resource``; ``serving`` whether
    the stack's state records it (None: no state was read)."""

    resource: str
    model: LiveModel
    managed_by: ManagedBy
    serving: bool | None


class Unmanaged(StrEnum):
    """A model that carries the stack's tag but that this stack does not manage."""

    ORPHAN = "orphan"
    NOT_MANAGED = "not managed"
    NOT_ATTRIBUTED = "not attributed"


@dataclass(frozen=True)
class OtherModel:
    """A tagged model that is neither in the state nor declared: never a change."""

    tuned_model: str
    model: str
    state: str
    kind: Unmanaged
    note: str
    deployment: Deployment | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tunedModel": self.tuned_model,
            "model": self.model,
            "state": self.state,
            "kind": self.kind.value,
            "note": self.note,
            "deployment": self.deployment.to_json() if self.deployment else None,
        }


@dataclass
class StackView:
    """The stack's state (None: not read, see ``state_note``) and the caller's models that carry
    the stack's tag (``tagged``, by service name). :meth:`find` reads any other model once."""

    backend: Backend
    stack: str
    tag: str
    state: StackState | None
    state_note: str
    tagged: dict[str, LiveModel] = field(default_factory=dict)
    _found: dict[str, LiveModel | None] = field(default_factory=dict)

    def find(self, name: str) -> LiveModel | None:
        """The live model named ``name`` (as ``pulumi refresh`` reads it), or None when gone."""
        if name in self.tagged:
            return self.tagged[name]
        if name not in self._found:
            self._found[name] = self.backend.find(name)
        return self._found[name]

    def exact(self, desired: Desired) -> LiveModel | None:
        """The live model carrying exactly ``desired``'s deterministic id, if any."""
        if desired.name is not None:
            return self.find(desired.name)
        return next((m for m in self.tagged.values() if m.model_id == desired.model_id), None)

    def tagged_for(self, resource: str) -> list[LiveModel]:
        """Tagged models whose id names the resource ``resource``."""
        return [m for m in self.tagged.values() if (p := parse_id(m.model_id)) and p.resource == resource]

    def stack_models(
        self, declared: Mapping[str, Desired | None], progress: Callable[[str], None] = lambda _: None
    ) -> dict[str, list[StackModel]]:
        """The stack's models on the service, by resource: the declared resources in order
        (``declared``: each one's desired state, None when it is not known yet), then those only
        the state records, sorted.
        Per resource, the model the state records, then the one carrying the exact desired id
        when it is another (trained but not recorded). A resource with neither maps to []."""
        recorded = {n: r.service_name for n, r in (self.state.models.items() if self.state else [])}
        names = list(declared) + sorted(set(recorded) - set(declared))
        found: dict[str, list[StackModel]] = {}
        for i, name in enumerate(names, start=1):
            progress(f"reading {name} ({i}/{len(names)}) ...")
            models = found.setdefault(name, [])
            live = self.find(recorded[name]) if name in recorded else None
            if live is not None:
                why = ManagedBy.STATE if name in declared else ManagedBy.UNDECLARED
                models.append(StackModel(name, live, why, True))
            desired = declared.get(name)
            exact = self.exact(desired) if desired is not None else None
            if exact is not None and exact.name != recorded.get(name):
                models.append(StackModel(name, exact, ManagedBy.DECLARED_ID, False if self.state else None))
        return found

    def others(self, claimed: Set[str]) -> list[OtherModel]:
        """The tagged models that are neither ``claimed`` (by service name) nor in the state,
        labelled: without state "not attributed" (the tag is not proof); with it, a FAILED one is
        an "orphan" (``tuned-models prune`` deletes it), any other "not managed"."""
        taken = set(claimed) | (self.state.service_names if self.state is not None else set())
        out: list[OtherModel] = []
        for m in sorted(self.tagged.values(), key=lambda m: m.name):
            if m.name in taken:
                continue
            parsed = parse_id(m.model_id)
            if self.state is None:
                kind = Unmanaged.NOT_ATTRIBUTED
                note = (
                    "carries this stack's tag, but without Pulumi state it is not attributed: "
                    "it may be another stack's (run where `pulumi` can read the state, or pass --state)"
                )
            elif m.state is ModelState.FAILED:
                kind = Unmanaged.ORPHAN
                note = (
                    "a FAILED attempt, in no state and declared by no model of the file: "
                    f"`tuned-models prune --stack {self.stack} --yes` deletes it"
                )
            else:
                kind = Unmanaged.NOT_MANAGED
                note = (
                    "carries this stack's tag but is not in its state: left by retainOnDelete, an "
                    "ownership transfer, or a retrain that failed its quality gate before the spec "
                    "changed again (or another stack's); `pulumi up` leaves it"
                )
            resource = parsed.resource if parsed else ""
            out.append(OtherModel(m.name, resource, m.state.value, kind, note, m.deployment))
        return out


def observe(
    backend: Backend,
    project: str,
    stack: str,
    state: StackState | None,
    state_note: str,
    progress: Callable[[str], None],
) -> StackView:
    """List the caller's models that carry the stack's tag; keep the state beside them."""
    view = StackView(backend, stack, stack_tag(project, stack), state, state_note)
    progress(f"listing tuned models on the service for stack {stack} ...")
    for model in backend.list_models(view.tag):
        view.tagged[model.name] = model
    progress(f"found {len(view.tagged)} tuned models with the tag of stack {stack}")
    return view
