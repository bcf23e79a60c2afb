"""The model spec: what a stack file (or a Python program) declares for one tuned model.

This module is the single vocabulary shared by the stack loader, ``tuned-models validate``, the
desired state (:mod:`tuned_models.model.desired`), the provider's ``check`` and the library API.
It holds every backend's keys; which keys a backend takes, and its own rules on their values
(a base model's form, a display name's length, adapter sizes, labels), are the backend's
(:mod:`tuned_models.backends`: its field table's ``refused`` rules and its checks).
Keys mirror the APIs' JSON names (camelCase); unknown keys are errors (``extra="forbid"``). The
per-field rules are reusable annotated types (:data:`Integer`, :data:`Number`, :data:`Email`,
:data:`TunedModelName`); what a change to each field does is declared per backend in its field
table (:mod:`tuned_models.model.fields`).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tuned_models.model.grants import Grant, GranteeType, Role, grantee_key
from tuned_models.model.scoring import Metric

#: The service's pattern for a client-chosen ``tunedModelId`` (CreateTunedModelRequest).
TUNED_MODEL_ID_PATTERN = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
#: A tuned model resource name.
TUNED_MODEL_NAME_PATTERN = re.compile(r"^tunedModels/[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
#: A base model resource name.
BASE_MODEL_PATTERN = re.compile(r"^models/[a-z0-9][a-z0-9.\-]*$")
#: A model's resource name (its key in ``tuned-models:models``). At most 26 characters, so that
#: the deterministic ``tunedModelId`` (name + 13-character stack tag and digest) fits in 40.
RESOURCE_NAME_PATTERN = re.compile(r"^[a-z]([a-z0-9-]{0,24}[a-z0-9])?$")
MAX_RESOURCE_NAME = 26
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: The longest displayName any backend takes (Vertex AI's tunedModelDisplayName); each backend
#: checks its own limit (the Gemini API's is 40).
MAX_DISPLAY_NAME = 128
#: The LoRA adapter sizes Vertex AI's AdapterSize enum names.
ADAPTER_SIZES: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
MAX_INPUT_CHARS = 40_000
MAX_OUTPUT_CHARS = 5_000
MAX_DATASET_BYTES = 4 * 1024 * 1024
MIN_RECOMMENDED_EXAMPLES = 20

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)


def _no_bool(v: Any, noun: str) -> Any:
    """``v`` unchanged unless it is a boolean: YAML's ``true`` is not the number 1."""
    if isinstance(v, bool):
        raise ValueError(f"expected {noun}, got {'true' if v else 'false'}")
    return v


def _integral(v: Any) -> Any:
    """A number field's raw value: booleans rejected, an integral float (Pulumi sends every
    number as a float, so 5.0 is the integer 5) turned into an int, anything else unchanged."""
    _no_bool(v, "an integer")
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _number(v: Any) -> Any:
    return _no_bool(v, "a number")


def valid_email(v: str) -> str:
    """``v`` when it is an email address; raises ValueError otherwise."""
    if not EMAIL_PATTERN.match(v):
        raise ValueError(f"{v!r} is not an email address")
    return v


def _tuned_model_name(v: str) -> str:
    if not TUNED_MODEL_NAME_PATTERN.match(v):
        raise ValueError(f"expected tunedModels/<id>, got {v!r}")
    return v


def _adapter_size(v: int) -> int:
    if v not in ADAPTER_SIZES:
        raise ValueError(f"expected one of {', '.join(map(str, ADAPTER_SIZES))}, got {v}")
    return v


def _resource_name(v: str) -> str:
    if not RESOURCE_NAME_PATTERN.match(v):
        raise ValueError(
            "a resource name is 1-26 lowercase letters, digits and hyphens, starting with a letter"
        )
    return v


#: An integer; an integral float (Pulumi sends 5 as 5.0) is the integer, a boolean is not.
Integer = Annotated[int, BeforeValidator(_integral)]
#: A number; a boolean is not one.
Number = Annotated[float, BeforeValidator(_number)]
#: An email address.
Email = Annotated[str, AfterValidator(valid_email)]
#: A tuned model's resource name, ``tunedModels/<id>``.
TunedModelName = Annotated[str, AfterValidator(_tuned_model_name)]
#: A model's resource name in a stack (its key in ``tuned-models:models``).
ResourceName = Annotated[str, AfterValidator(_resource_name)]


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be sent as training text, or None when it can.

    A lone UTF-16 surrogate (``"\\ud800"`` in JSON or YAML) is not a Unicode character: it
    cannot be encoded as UTF-8, so neither the digest nor the request could carry it.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return (
            f"contains a lone surrogate \\u{ord(text[e.start]):04x} at character "
            f"{e.start + 1}, which is not valid Unicode text"
        )
    return None


class Hyperparameters(_Strict):
    """Tuning hyperparameters; unset ones get the service's defaults (resolved on create)."""

    epochCount: Annotated[Integer, Field(ge=1, le=1000)] | None = None
    batchSize: Annotated[Integer, Field(ge=1, le=1024)] | None = None
    learningRate: Annotated[Number, Field(gt=0, le=1)] | None = None
    learningRateMultiplier: Annotated[Number, Field(gt=0, le=100)] | None = None
    adapterSize: Annotated[Integer, AfterValidator(_adapter_size)] | None = None

    @model_validator(mode="after")
    def _one_learning_rate(self) -> Hyperparameters:
        if self.learningRate is not None and self.learningRateMultiplier is not None:
            raise ValueError("set learningRate or learningRateMultiplier, not both")
        return self

    def declared(self) -> dict[str, Any]:
        """The declared values only, in canonical form (ints as ints, unset keys absent)."""
        return self.model_dump(exclude_none=True)


class TunedModelSource(_Strict):
    """Continue tuning from an existing tuned model: ``tunedModel``, its service name
    (``tunedModels/<id>``), or ``model``, the resource name of a model of the same stack. The
    program passes that model's current name, so retraining it retrains this one too (and this
    one is created after it)."""

    tunedModel: TunedModelName | None = None
    model: ResourceName | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TunedModelSource:
        if (self.tunedModel is None) == (self.model is None):
            raise ValueError("declare one of tunedModel (tunedModels/<id>) or model (a model of this stack)")
        return self


class Example(_Strict):
    """One training example: an input text and the output the model should give."""

    textInput: str
    output: str

    @field_validator("textInput", "output")
    @classmethod
    def _text(cls, v: str) -> str:
        problem = text_problem(v)
        if problem:
            raise ValueError(problem)
        return v


#: The union tags of :data:`EvaluationExamples` (error locations name them; problem lines do not).
EXAMPLES_UNION_TAGS = ("file", "inline")


def _examples_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "file"
    return "inline" if isinstance(value, list) else None


#: A path to an examples file (relative to the project root) or a list of inline examples.
EvaluationExamples = Annotated[
    Annotated[str, Tag("file")] | Annotated[list[Example], Tag("inline")],
    Discriminator(
        _examples_kind,
        custom_error_type="examples_kind",
        custom_error_message="expected a file path or a list of {textInput, output} examples",
    ),
]


class Evaluation(_Strict):
    """The quality gate of a model: after training, each example's ``textInput`` is sent to the
    tuned model and its answer scored against ``output`` by ``metric``
    (:mod:`tuned_models.model.scoring`); a mean score below ``minScore`` keeps the model from
    replacing the serving one.

    ``examples``: a file (path relative to the project root, read like a dataset) or inline
    examples."""

    examples: EvaluationExamples
    metric: Metric = Metric.EXACT_MATCH
    minScore: Annotated[Number, Field(ge=0, le=1)]


class EvaluationDefaults(_Strict):
    """``evaluation`` in ``tuned-models:defaults``: every key optional (merged key by key under
    each model's own ``evaluation``)."""

    examples: EvaluationExamples | None = None
    metric: Metric | None = None
    minScore: Annotated[Number, Field(ge=0, le=1)] | None = None


class PermissionSpec(_Strict):
    """One grant in a model's ``permissions`` list: exactly one of user, group or everyone."""

    user: str | None = None
    group: str | None = None
    everyone: bool | None = None
    role: Literal["READER", "WRITER"]

    @model_validator(mode="after")
    def _one_grantee(self) -> PermissionSpec:
        chosen = [k for k in ("user", "group") if getattr(self, k) is not None]
        if self.everyone:
            if chosen:
                raise ValueError("everyone: true takes no email; remove " + " and ".join(chosen))
            return self
        if self.everyone is False and not chosen:
            raise ValueError("everyone: false grants nothing; name a user or a group")
        if not chosen:
            raise ValueError("a permission needs one grantee: user, group or everyone: true")
        if len(chosen) > 1:
            raise ValueError("a permission has one grantee: user or group, not both")
        email = getattr(self, chosen[0])
        try:
            valid_email(email)
        except ValueError as e:
            raise ValueError(f"{chosen[0]}: {e}") from None
        return self

    @property
    def grantee_type(self) -> GranteeType:
        """USER, GROUP (declared as group, or an address ending in googlegroups.com) or EVERYONE."""
        if self.everyone:
            return GranteeType.EVERYONE
        if self.group is not None or (self.user or "").endswith("googlegroups.com"):
            return GranteeType.GROUP
        return GranteeType.USER

    @property
    def email(self) -> str | None:
        return self.user or self.group

    @property
    def key(self) -> str:
        """A stable identity for this grant, independent of its position in the list."""
        return grantee_key(self.grantee_type, self.email)

    def grant(self) -> Grant:
        """This entry as a :class:`~tuned_models.model.grants.Grant`."""
        return Grant(self.grantee_type, self.email, Role(self.role))


def _number_text(value: float) -> str:
    """``inf``, ``-inf`` or ``nan`` as YAML writes them (``.inf``, ``-.inf``, ``.nan``)."""
    if math.isnan(value):
        return ".nan"
    return "-.inf" if value < 0 else ".inf"


def parse_duration(v: Any) -> float:
    """Seconds from ``3600``, ``"90s"``, ``"30m"`` or ``"2h"``: a positive, finite float.

    Raises ValueError otherwise (booleans, infinity and NaN included).
    """
    if isinstance(v, bool):
        raise ValueError("expected a duration such as 30m or 2h")
    if isinstance(v, int | float):
        seconds = float(v)
    else:
        m = _DURATION.match(str(v))
        if not m:
            raise ValueError(f"expected a duration such as 90s, 30m or 2h, got {v!r}")
        seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"a timeout must be a finite duration, got {_number_text(seconds)}")
    if seconds <= 0:
        raise ValueError("a timeout must be positive")
    return seconds


class ModelFields(_Strict):
    """The fields a model's spec and the provider's inputs share, with their per-field rules."""

    displayName: Annotated[str, Field(max_length=MAX_DISPLAY_NAME)] | None = None
    description: str | None = None
    labels: dict[str, str] | None = None
    baseModel: str | None = None
    tunedModelSource: TunedModelSource | None = None
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    dataset: str | None = None
    examples: list[Example] | None = None
    validationDataset: str | None = None
    temperature: Annotated[Number, Field(ge=0, le=2)] | None = None
    topP: Annotated[Number, Field(ge=0, le=1)] | None = None
    topK: Annotated[Integer, Field(ge=1)] | None = None
    timeout: float = 7200.0
    wait: bool = True
    adopt: TunedModelName | None = None
    evaluation: Evaluation | None = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)

    def sources_problem(self) -> str | None:
        """Why the sources of this model do not fit together, or None: exactly one of
        ``baseModel`` or ``tunedModelSource``, not both ``dataset`` and ``examples``, data to
        train on (``dataset`` or ``examples``) unless the model is adopted, and no
        ``evaluation`` on a model that is not waited for."""
        if (self.baseModel is None) == (self.tunedModelSource is None):
            return "declare exactly one of baseModel or tunedModelSource"
        if self.dataset is not None and self.examples is not None:
            return "declare dataset (a file) or examples (inline), not both"
        if self.adopt is None and self.dataset is None and self.examples is None:
            return (
                "declare a dataset (a file) or examples (inline); "
                "only a model taken over with adopt may have neither"
            )
        if self.evaluation is not None and not self.wait:
            return (
                "evaluation needs wait: true: the gate runs when training ends, before the "
                "model replaces the serving one"
            )
        return None


class TunedModelArgs(ModelFields):
    """A tuned model and who may use it, as a Python program declares it (the library API):
    the keys of a stack file's model, less the Pulumi resource options (``protect``,
    ``retainOnDelete``, ``dependsOn``: pass ``pulumi.ResourceOptions`` instead)."""

    permissions: list[PermissionSpec] = Field(default_factory=list)
    owner: Email | None = None

    @field_validator("permissions")
    @classmethod
    def _distinct(cls, v: list[PermissionSpec]) -> list[PermissionSpec]:
        keys = [p.key for p in v]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError("the same grantee is listed twice: " + ", ".join(dupes))
        return v

    @field_validator("owner")
    @classmethod
    def _owner(cls, v: str | None, info: ValidationInfo) -> str | None:
        # permissions is declared before owner, so it is in info.data when it validated.
        if v is None:
            return v
        permissions: list[PermissionSpec] = info.data.get("permissions") or []
        if any((p.email or "").lower() == v.lower() for p in permissions):
            raise ValueError(
                f"{v} is the owner and also listed in permissions; the owner has "
                "every role: remove that permission"
            )
        return v

    @model_validator(mode="after")
    def _sources(self) -> TunedModelArgs:
        problem = self.sources_problem()
        if problem:
            raise ValueError(problem)
        return self


class ModelSpec(TunedModelArgs):
    """One entry of ``tuned-models:models`` after ``tuned-models:defaults`` were merged under it."""

    protect: bool = False
    retainOnDelete: bool = False
    dependsOn: list[str] = Field(default_factory=list)


#: Every key a model entry accepts, for "did you mean" suggestions.
MODEL_KEYS: tuple[str, ...] = tuple(ModelSpec.model_fields)
EVALUATION_KEYS: tuple[str, ...] = tuple(Evaluation.model_fields)
HYPERPARAMETER_KEYS: tuple[str, ...] = tuple(Hyperparameters.model_fields)
PERMISSION_KEYS: tuple[str, ...] = tuple(PermissionSpec.model_fields)
