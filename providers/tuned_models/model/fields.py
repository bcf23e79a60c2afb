"""Each model field's behaviour, declared once per backend (DESIGN.md decision 4).

A backend declares a :class:`FieldTable`: one :class:`FieldRule` per field of a tuned model,
saying whether a change to it **retrains** (create-only: it is part of the training spec, so of
the deterministic id's digest, and a change replaces the model), **updates** it in place,
**evaluates** it again (the quality gate: a change re-runs the gate on the same model, never
retrains), is the tool's own **setting** (never sent to the service), or is **output** only.
Everything else reads the table:

- the planner (``diff`` and ``plan``): :attr:`FieldTable.training` and :attr:`FieldTable.updatable`,
  and which unknown inputs force a replacement (:attr:`FieldTable.replacing`);
- the deterministic id: :meth:`FieldTable.training_spec` is what its digest covers;
- the provider's outputs: :attr:`FieldTable.outputs`;
- the stack file's JSON Schema and the README's key table: :attr:`FieldRule.doc` and
  :attr:`FieldRule.on_change`;
- tests check that the spec, the resource inputs and the table name the same fields.

Adding a field is one :class:`FieldRule` in the backend's table (and the field itself on
:class:`tuned_models.model.spec.ModelFields`); see docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class Behaviour(StrEnum):
    """What a change to a field does."""

    RETRAIN = "retrain"
    UPDATE = "update"
    EVALUATE = "evaluate"
    SETTING = "setting"
    OUTPUT = "output"


#: The README's "on change" words for each behaviour.
_ON_CHANGE = {
    Behaviour.RETRAIN: "retrain",
    Behaviour.UPDATE: "update",
    Behaviour.EVALUATE: "re-evaluate",
    Behaviour.SETTING: "none",
    Behaviour.OUTPUT: "-",
}


@dataclass(frozen=True)
class FieldRule:
    """One field of a tuned model and what a change to it does.

    ``via``: a RETRAIN field the training spec carries as another field (a dataset file and
    inline examples are retrained on by their ``datasetDigest``, not their path).
    ``replaces``: a SETTING that names the model (stack, resource name, adopted name): changing
    it makes another resource, though nothing retrains.
    ``declared``: a key of a model in a stack file (``False``: the program fills it in).
    ``input``: an input of the ``TunedModel`` resource (``False``: a Pulumi resource option or a
    child resource, such as ``protect`` or ``permissions``).
    ``output``: also one of the resource's outputs (what the service reports, or our record).
    ``omit``: a value the training spec leaves out, so that ids made before the field existed
    stay the same (the default backend).
    ``by_key``: a mapping compared key by key (``hyperparameters.epochCount``); ``keys``: the
    keys of such a mapping this backend takes (empty: any the spec allows).
    ``refused``: non-empty when this backend does not take the field (it belongs to another
    backend): why, in words a stack file's problem line can end with.
    """

    name: str
    behaviour: Behaviour
    doc: str = ""
    via: str | None = None
    replaces: bool = False
    declared: bool = True
    input: bool = True
    output: bool = False
    omit: Any = None
    by_key: bool = False
    change_note: str = ""
    keys: tuple[str, ...] = ()
    refused: str = ""

    @property
    def on_change(self) -> str:
        """What a change does, in the words of the README's key table."""
        return self.change_note or _ON_CHANGE[self.behaviour]

    @property
    def in_training_spec(self) -> bool:
        return self.behaviour is Behaviour.RETRAIN and self.via is None


@dataclass(frozen=True)
class FieldTable:
    """Every field of one backend's tuned model, in a stable order.

    ``name_template``: the service name of a model created under a deterministic id when the
    client chooses the id (``tunedModels/{id}``); ``None`` when the service chooses it.
    ``deletes``: what deleting a model removes when it is more than the model itself, in the
    words a plan's note uses (a failed attempt "is deleted (...), and trained again").
    """

    backend: str
    rules: tuple[FieldRule, ...]
    name_template: str | None = None
    deletes: str = ""
    _by_name: dict[str, FieldRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"{self.backend}: fields declared twice: {', '.join(dupes)}")
        object.__setattr__(self, "_by_name", {r.name: r for r in self.rules})

    def __getitem__(self, name: str) -> FieldRule:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def _names(self, rules: Iterable[FieldRule]) -> tuple[str, ...]:
        return tuple(r.name for r in rules)

    @property
    def training(self) -> tuple[str, ...]:
        """The create-only fields the training spec (and so the id's digest) carries."""
        return self._names(r for r in self.rules if r.in_training_spec)

    @property
    def updatable(self) -> tuple[str, ...]:
        """The fields patched in place (the ``updateMask`` paths)."""
        return self._names(r for r in self.rules if r.behaviour is Behaviour.UPDATE)

    @property
    def evaluated(self) -> tuple[str, ...]:
        """The fields of the quality gate: a change evaluates the same model again."""
        return self._names(r for r in self.rules if r.behaviour is Behaviour.EVALUATE)

    @property
    def replacing(self) -> tuple[str, ...]:
        """The inputs whose change (or, in a preview, whose unknown value) replaces the model."""
        return self._names(
            r for r in self.rules if r.input and (r.behaviour is Behaviour.RETRAIN or r.replaces)
        )

    @property
    def outputs(self) -> tuple[str, ...]:
        """Every output of the resource."""
        return self._names(r for r in self.rules if r.behaviour is Behaviour.OUTPUT or r.output)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input of the resource."""
        return self._names(r for r in self.rules if r.input and r.behaviour is not Behaviour.OUTPUT)

    @property
    def declared(self) -> tuple[str, ...]:
        """Every key of a model in a stack file."""
        return self._names(r for r in self.rules if r.declared and r.behaviour is not Behaviour.OUTPUT)

    @property
    def accepted(self) -> tuple[str, ...]:
        """The keys of a model in a stack file this backend takes."""
        return self._names(r for r in self.rules if r.name in self.declared and not r.refused)

    def refusals(self, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(key path, message)`` for each value of ``values`` (field name -> value, unset ones
        None) that this backend does not take: a refused field, or a key of a by-key mapping
        outside the rule's ``keys``."""
        found: list[tuple[str, str]] = []
        for rule in self.rules:
            value = values.get(rule.name)
            if isinstance(value, BaseModel):
                value = value.model_dump(exclude_none=True)
            if value is None or value == [] or value == {}:
                continue
            if rule.refused:
                found.append(
                    (rule.name, f"the {self.backend} backend does not take {rule.name}: {rule.refused}")
                )
            elif rule.keys and isinstance(value, Mapping):
                for key in value:
                    if key not in rule.keys and value[key] is not None:
                        found.append(
                            (
                                f"{rule.name}.{key}",
                                f"the {self.backend} backend does not take {rule.name}.{key}; "
                                f"it takes {', '.join(rule.keys)}",
                            )
                        )
        return found

    def deleted(self) -> str:
        """``deleted``, with what that removes when the table says (``deleted (its endpoints
        and model; ...)``)."""
        return f"deleted ({self.deletes})" if self.deletes else "deleted"

    def model_name(self, model_id: str) -> str | None:
        """The service name of the model created under ``model_id``, when the client chooses it."""
        return self.name_template.format(id=model_id) if self.name_template else None

    def training_spec(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The training spec of ``values`` (field name -> value): the create-only fields in
        canonical form (models dumped without unset keys), unset ones and omitted values left out."""
        spec: dict[str, Any] = {}
        for name in self.training:
            value = values.get(name)
            if isinstance(value, BaseModel):
                value = value.model_dump(exclude_none=True)
            if value is None or (self[name].omit is not None and value == self[name].omit):
                continue
            spec[name] = value
        return spec


def rule(name: str, behaviour: Behaviour, doc: str = "", **options: Any) -> FieldRule:
    """A :class:`FieldRule` (keyword options as on the class)."""
    return FieldRule(name, behaviour, doc, **options)


RETRAIN, UPDATE, SETTING, OUTPUT = Behaviour.RETRAIN, Behaviour.UPDATE, Behaviour.SETTING, Behaviour.OUTPUT
EVALUATE = Behaviour.EVALUATE

#: The fields every backend shares: how the tool names, waits for and manages a model.
COMMON_RULES: tuple[FieldRule, ...] = (
    rule(
        "project",
        SETTING,
        "The Pulumi project (part of the model's identity).",
        replaces=True,
        declared=False,
    ),
    rule("stack", SETTING, "The Pulumi stack (part of the model's identity).", replaces=True, declared=False),
    rule("resourceName", SETTING, "The model's key in tuned-models:models.", replaces=True, declared=False),
    rule(
        "backend",
        RETRAIN,
        "The service that tunes the model (tuned-models:backend).",
        declared=False,
        output=True,
        omit="gemini",
    ),
    rule("timeout", SETTING, "How long to wait for tuning: seconds or a duration such as 90s, 30m or 4h."),
    rule("wait", SETTING, "Wait until the model is ACTIVE (true) or return once it is CREATING (false)."),
    rule("protect", SETTING, "Refuse to delete or replace the model.", input=False, change_note="-"),
    rule(
        "retainOnDelete",
        SETTING,
        "Leave the model on the service when it is removed from the stack.",
        input=False,
        change_note="-",
    ),
    rule(
        "dependsOn",
        SETTING,
        "Resource names of models in this stack to create first.",
        input=False,
        change_note="-",
    ),
    rule(
        "permissions",
        SETTING,
        "Who may use the model: {user|group: email, role: READER|WRITER} or {everyone: true, role: READER}.",
        input=False,
        change_note="per grant",
    ),
    rule(
        "owner",
        SETTING,
        "Transfer ownership of the model to this email address.",
        input=False,
        change_note="per grant",
    ),
    rule(
        "evaluation",
        EVALUATE,
        "The quality gate: {examples: file or inline, metric: exactMatch|contains|similarity, "
        "minScore: 0-1}. After training, the model answers each example; below minScore it does "
        "not replace the serving model.",
        output=True,
        change_note="re-evaluate (never retrains)",
    ),
    rule(
        "evaluationDigest",
        EVALUATE,
        "The digest of the gate's canonical examples.",
        declared=False,
    ),
    rule("lastChange", OUTPUT, "What the provider last did to the model ({action, detail, time})."),
    rule("tunedModelId", OUTPUT, "The deterministic id the model was created under."),
    rule("name", OUTPUT, "The model's resource name on the service."),
    rule("state", OUTPUT, "CREATING, ACTIVE or FAILED."),
    rule("trainingSpec", OUTPUT, "The create-only fields as declared when the model was created."),
)

#: Rules every backend declares alike, each placed where the backend's table lists it (a table's
#: order is its schema's and its README rows'): the inline examples, which retrain through the
#: dataset's digest; the example count the tool records; the training's times and steps, which
#: every service reports.
EXAMPLES = rule(
    "examples",
    RETRAIN,
    "Inline training examples ({textInput, output}). Exactly one of dataset or examples.",
    via="datasetDigest",
    change_note="retrain when the examples change",
)
EXAMPLE_COUNT = rule(
    "exampleCount", SETTING, "How many examples the dataset has.", declared=False, output=True
)
TRAINING_OUTPUTS: tuple[FieldRule, ...] = (
    rule("createTime", OUTPUT),
    rule("updateTime", OUTPUT),
    rule("tuningStartTime", OUTPUT),
    rule("tuningCompleteTime", OUTPUT),
    rule("totalSteps", OUTPUT),
)
