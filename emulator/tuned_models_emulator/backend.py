"""The emulator's backend: plain typed records and every rule of the tuning service.

The HTTP layer (:mod:`tuned_models_emulator.app`) only parses and renders; everything the service decides is
decided here, inside one store transaction per request:

- training is a state machine declared as data (:data:`TRANSITIONS`) and advanced on read from
  stored timestamps and the model's time per step (:func:`progress`), so a model behaves the same
  in a server, in another process reading the same file, and after a restart;
- callers are identified by a hash of their key or token; roles are enforced per tuned model;
- faults (errors, latency, dropped connections) and forced training failures are stored rules;
- the emulator's clock is real time, or a manual clock stored in the database.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import json
import math
import random
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from typing import Any

from tuned_models_emulator.errors import (
    AlreadyExists,
    ApiError,
    FailedPrecondition,
    InjectedError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    error_info,
    no_access,
    not_found_tuned_model,
    retry_info,
)
from tuned_models_emulator.store import Store, Tx
from tuned_models_emulator.wire import ENUMS, camel, float32, format_timestamp, int32_value, normalize, snake

NS = 1_000_000_000
API_TYPE = "type.googleapis.com/google.ai.generativelanguage"

# --------------------------------------------------------------------------- enums and records


class State(StrEnum):
    """TunedModel.State."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"


#: The training state machine: CREATING ends in ACTIVE or FAILED; the others are final.
TRANSITIONS: dict[State, tuple[State, ...]] = {
    State.CREATING: (State.ACTIVE, State.FAILED),
    State.ACTIVE: (),
    State.FAILED: (),
}


class Role(StrEnum):
    """Permission.Role; concentric: OWNER > WRITER > READER."""

    OWNER = "OWNER"
    WRITER = "WRITER"
    READER = "READER"

    @property
    def rank(self) -> int:
        """3 for OWNER, 2 for WRITER, 1 for READER."""
        return {Role.OWNER: 3, Role.WRITER: 2, Role.READER: 1}[self]


class GranteeType(StrEnum):
    """Permission.GranteeType."""

    USER = "USER"
    GROUP = "GROUP"
    EVERYONE = "EVERYONE"


class ClockMode(StrEnum):
    """The emulator's clock: real time, or a manual clock that only moves when told."""

    REAL = "real"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class BaseModel:
    """A foundation model as ListModels returns it."""

    id: str
    version: str
    display_name: str
    description: str
    input_token_limit: int
    output_token_limit: int
    methods: tuple[str, ...]
    temperature: float
    top_p: float
    top_k: int
    max_temperature: float | None
    api_versions: tuple[str, ...]

    @property
    def tunable(self) -> bool:
        """Whether tuned models can be created from it."""
        return "createTunedModel" in self.methods or "createTunedTextModel" in self.methods

    def to_json(self) -> dict[str, Any]:
        """The Model resource."""
        out: dict[str, Any] = {
            "name": f"models/{self.id}",
            "version": self.version,
            "displayName": self.display_name,
            "description": self.description,
            "inputTokenLimit": self.input_token_limit,
            "outputTokenLimit": self.output_token_limit,
            "supportedGenerationMethods": list(self.methods),
            "temperature": float32(self.temperature),
            "topP": float32(self.top_p),
            "topK": self.top_k,
        }
        if self.max_temperature is not None:
            out["maxTemperature"] = float32(self.max_temperature)
        return out


_GEMINI = ("v1", "v1beta", "v1alpha", "v1beta3")
BASE_MODELS: tuple[BaseModel, ...] = (
    BaseModel(
        "gemini-1.0-pro-001",
        "001",
        "Gemini 1.0 Pro 001 (Tuning)",
        "The best model for scaling across a wide range of tasks. This is a stable model that "
        "supports tuning.",
        30720,
        2048,
        ("generateContent", "countTokens", "createTunedModel"),
        0.9,
        1.0,
        1,
        None,
        _GEMINI,
    ),
    BaseModel(
        "gemini-1.5-flash-001",
        "001",
        "Gemini 1.5 Flash 001",
        "Fast and versatile multimodal model for scaling across diverse tasks.",
        1000000,
        8192,
        ("generateContent", "countTokens", "createCachedContent"),
        1.0,
        0.95,
        64,
        2.0,
        _GEMINI,
    ),
    BaseModel(
        "gemini-1.5-flash-001-tuning",
        "001",
        "Gemini 1.5 Flash 001 Tuning",
        "Version of Gemini 1.5 Flash that supports tuning, our fast and versatile multimodal "
        "model for scaling across diverse tasks, released in May of 2024.",
        16384,
        8192,
        ("generateContent", "countTokens", "createTunedModel"),
        1.0,
        0.95,
        64,
        2.0,
        _GEMINI,
    ),
    BaseModel(
        "text-bison-001",
        "001",
        "PaLM 2 (Legacy)",
        "A legacy model that understands text and generates text as an output",
        8196,
        1024,
        ("generateText", "countTextTokens", "createTunedTextModel"),
        0.7,
        0.95,
        40,
        None,
        ("v1", "v1beta", "v1alpha", "v1beta3"),
    ),
)

#: Datasets with at least this many examples get the "large dataset" hyperparameter defaults.
LARGE_DATASET_EXAMPLES = 500
MAX_DISPLAY_NAME = 40
MAX_INPUT_CHARS = 40_000
MAX_OUTPUT_CHARS = 5_000
TUNED_MODEL_ID = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")
MUTABLE_FIELDS = ("displayName", "description", "temperature", "topP", "topK", "readerProjectNumbers")
CANCELLED_MESSAGE = "Operation cancelled."
DEFAULT_FAILURE_MESSAGE = "Tuning failed: the training job did not complete."
INVALID_TOKEN = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
    "other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)


@dataclass(frozen=True, slots=True)
class Hyperparameters:
    """Resolved hyperparameters (defaults applied)."""

    epoch_count: int
    batch_size: int
    learning_rate: float
    learning_rate_multiplier: float | None = None


@dataclass(frozen=True, slots=True)
class TunedModelRecord:
    """A stored tuned model. Times are nanoseconds since the epoch on the emulator's clock."""

    id: str
    api_version: str
    base_model: str
    source_tuned_model: str | None
    display_name: str
    description: str
    temperature: float | None
    top_p: float | None
    top_k: int | None
    reader_project_numbers: tuple[int, ...]
    create_ns: int
    update_ns: int
    start_ns: int
    step_ns: int
    total_steps: int
    n_examples: int
    epoch_count: int
    batch_size: int
    learning_rate: float
    operation_id: str
    loss_seed: int
    fail_at_step: int | None = None
    fail_message: str | None = None
    cancel_ns: int | None = None
    learning_rate_multiplier: float | None = None

    @property
    def name(self) -> str:
        """``tunedModels/{id}``."""
        return f"tunedModels/{self.id}"

    @property
    def operation_name(self) -> str:
        """``tunedModels/{id}/operations/{op}``."""
        return f"{self.name}/operations/{self.operation_id}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        out = asdict(self)
        out["reader_project_numbers"] = list(self.reader_project_numbers)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TunedModelRecord:
        """The inverse of :meth:`to_dict`."""
        values = dict(data)
        values["reader_project_numbers"] = tuple(values.get("reader_project_numbers") or ())
        return cls(**values)


@dataclass(frozen=True, slots=True)
class PermissionRecord:
    """A stored permission on a tuned model."""

    id: str
    grantee_type: GranteeType
    email: str | None
    role: Role

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        return {
            "id": self.id,
            "grantee_type": str(self.grantee_type),
            "email": self.email,
            "role": str(self.role),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PermissionRecord:
        """The inverse of :meth:`to_dict`."""
        return cls(str(data["id"]), GranteeType(data["grantee_type"]), data.get("email"), Role(data["role"]))


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a credential (stored only as its SHA-256), an email and groups."""

    credential_hash: str
    kind: str  # "key" | "token"
    email: str
    groups: tuple[str, ...] = ()
    project: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """A tuned model's training as of one instant (derived, never stored)."""

    state: State
    completed_steps: int
    end_ns: int | None
    error_code: int | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What an injected fault does to one request."""

    latency_ms: int = 0
    error: ApiError | None = None
    drop: bool = False


@dataclass(frozen=True)
class Settings:
    """Per-process settings: defaults for the stored ones, the accepted API keys and access
    tokens (hashed; empty = any is accepted) and the Cloud Storage buckets that always exist."""

    step_seconds: float = 1.0
    seed: int | None = None
    key_hashes: frozenset[str] = frozenset()
    key_emails: Mapping[str, str] = field(default_factory=dict)
    token_hashes: frozenset[str] = frozenset()
    buckets: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        step_seconds: float = 1.0,
        api_keys: tuple[str, ...] | list[str] = (),
        seed: int | None = None,
        access_tokens: tuple[str, ...] | list[str] = (),
        buckets: tuple[str, ...] | list[str] = (),
    ) -> Settings:
        """Settings from ``KEY`` / ``KEY=EMAIL`` and ``TOKEN`` / ``TOKEN=EMAIL`` entries; raw keys
        and tokens are hashed at once."""
        emails: dict[str, str] = {}

        def hashed(entries: tuple[str, ...] | list[str]) -> frozenset[str]:
            hashes: set[str] = set()
            for entry in entries:
                secret, _, email = entry.partition("=")
                digest = credential_hash(secret)
                hashes.add(digest)
                if email:
                    emails[digest] = email
            return frozenset(hashes)

        key_hashes = hashed(api_keys)
        token_hashes = hashed(access_tokens)
        return cls(step_seconds, seed, key_hashes, emails, token_hashes, tuple(buckets))


@dataclass(frozen=True, slots=True)
class Call:
    """One API call as the HTTP layer parsed it."""

    rpc: str
    version: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    enum_int: bool = False


def credential_hash(credential: str) -> str:
    """SHA-256 hex of a key or token: the only form in which credentials are kept."""
    return hashlib.sha256(credential.encode("utf-8")).hexdigest()


def type_version(version: str) -> str:
    """The proto package of @type URLs: v1beta3 under /v1beta3, else v1beta (also under /v1)."""
    return "v1beta3" if version == "v1beta3" else "v1beta"


# --------------------------------------------------------------------------- training math


def total_steps(n_examples: int, epoch_count: int, batch_size: int) -> int:
    """ceil(examples x epochs / batch size), as the service reports ``totalSteps``."""
    return max(1, math.ceil(n_examples * epoch_count / batch_size))


def epoch_at(step: int, model: TunedModelRecord) -> int:
    """The epoch reported with a snapshot: whole passes over the data, capped at epochCount."""
    return min(model.epoch_count, step * model.batch_size // model.n_examples)


@lru_cache(maxsize=256)
def _curve(loss_seed: int, total: int, step_ns: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Mean losses (noisy, decreasing, float32) and compute-time jitters for each step."""
    rng = random.Random(loss_seed)
    start = 4.0 + 6.0 * rng.random()
    final = 0.005 + 0.3 * rng.random()
    decay = 3.0 + 3.0 * rng.random()
    max_jitter = max(2, min(step_ns // 10, 500_000_000))
    losses: list[float] = []
    jitters: list[int] = []
    for k in range(1, total + 1):
        mean = final + (start - final) * math.exp(-decay * k / total)
        noisy = mean * (1.0 + 0.35 * (2.0 * rng.random() - 1.0))
        losses.append(float32(max(noisy, 1e-6)))
        jitters.append(rng.randrange(1, max_jitter))
    return tuple(losses), tuple(jitters)


def progress(model: TunedModelRecord, now_ns: int) -> Progress:
    """Where training stands at ``now_ns``: step k completes at create + k x stepSeconds.

    A cancelled model stops where it was and ends FAILED (error CANCELLED); a model matched by a
    forced-failure rule ends FAILED at its failure step; otherwise it is ACTIVE after the last step.
    """
    total = model.total_steps
    if model.cancel_ns is not None:
        done = min(total, max(0, (model.cancel_ns - model.create_ns) // model.step_ns))
        return Progress(State.FAILED, done, model.cancel_ns, 1, CANCELLED_MESSAGE)
    done = min(total, max(0, (now_ns - model.create_ns) // model.step_ns))
    if model.fail_at_step is not None and done >= model.fail_at_step:
        at = model.fail_at_step
        return Progress(
            State.FAILED,
            at,
            model.create_ns + at * model.step_ns,
            13,
            model.fail_message or DEFAULT_FAILURE_MESSAGE,
        )
    if done >= total:
        return Progress(State.ACTIVE, total, model.create_ns + total * model.step_ns)
    return Progress(State.CREATING, done, None)


def _us(ns: int) -> int:
    return ns - ns % 1_000


# --------------------------------------------------------------------------- rendering


def render_hyperparameters(model: TunedModelRecord) -> dict[str, Any]:
    """epochCount, batchSize and the learning-rate option as requested (a proto oneof): the
    resolved ``learningRate``, or ``learningRateMultiplier`` when the request gave one."""
    out: dict[str, Any] = {"epochCount": model.epoch_count, "batchSize": model.batch_size}
    if model.learning_rate_multiplier is not None:
        out["learningRateMultiplier"] = float32(model.learning_rate_multiplier)
    else:
        out["learningRate"] = float32(model.learning_rate)
    return out


def render_snapshots(model: TunedModelRecord, completed: int) -> list[dict[str, Any]]:
    """One TuningSnapshot per completed step (``epoch`` omitted when 0, as proto3 JSON does).

    The returned dicts are shared between calls (cached): treat them as read-only.
    """
    if completed <= 0:
        return []
    return list(
        _snapshots(
            model.loss_seed,
            model.total_steps,
            model.step_ns,
            model.create_ns,
            model.epoch_count,
            model.batch_size,
            model.n_examples,
            completed,
        )
    )


@lru_cache(maxsize=1024)
def _snapshots(
    loss_seed: int,
    total: int,
    step_ns: int,
    create_ns: int,
    epoch_count: int,
    batch_size: int,
    n_examples: int,
    completed: int,
) -> tuple[dict[str, Any], ...]:
    losses, jitters = _curve(loss_seed, total, step_ns)
    out: list[dict[str, Any]] = []
    for k in range(1, completed + 1):
        snap: dict[str, Any] = {"step": k}
        epoch = min(epoch_count, k * batch_size // n_examples)
        if epoch:
            snap["epoch"] = epoch
        snap["meanLoss"] = losses[k - 1]
        snap["computeTime"] = format_timestamp(create_ns + k * step_ns - jitters[k - 1])
        out.append(snap)
    return tuple(out)


def render_tuned_model(model: TunedModelRecord, prog: Progress, *, enum_int: bool = False) -> dict[str, Any]:
    """The TunedModel resource: camelCase, unset fields omitted, never ``trainingData``."""
    out: dict[str, Any] = {"name": model.name}
    if model.source_tuned_model:
        out["tunedModelSource"] = {
            "tunedModel": model.source_tuned_model,
            "baseModel": model.base_model,
        }
    else:
        out["baseModel"] = model.base_model
    if model.display_name:
        out["displayName"] = model.display_name
    if model.description:
        out["description"] = model.description
    out["state"] = ENUMS["TunedModel.State"].index(prog.state) if enum_int else str(prog.state)
    out["createTime"] = format_timestamp(model.create_ns)
    update_ns = model.update_ns
    task: dict[str, Any] = {"startTime": format_timestamp(model.start_ns)}
    if prog.end_ns is not None:
        end = _us(prog.end_ns)
        update_ns = max(update_ns, end)
        task["completeTime"] = format_timestamp(end)
    out["updateTime"] = format_timestamp(update_ns)
    snapshots = render_snapshots(model, prog.completed_steps)
    if snapshots:
        task["snapshots"] = snapshots
    task["hyperparameters"] = render_hyperparameters(model)
    out["tuningTask"] = task
    if model.temperature is not None:
        out["temperature"] = float32(model.temperature)
    if model.top_p is not None:
        out["topP"] = float32(model.top_p)
    if model.top_k is not None:
        out["topK"] = model.top_k
    if model.reader_project_numbers and model.api_version != "v1beta3":
        out["readerProjectNumbers"] = [str(n) for n in model.reader_project_numbers]
    return out


def render_operation(
    model: TunedModelRecord, prog: Progress, version: str, *, enum_int: bool = False
) -> dict[str, Any]:
    """The long-running Operation of a tuned model's training."""
    pkg = type_version(version)
    meta: dict[str, Any] = {
        "@type": f"{API_TYPE}.{pkg}.CreateTunedModelMetadata",
        "totalSteps": model.total_steps,
    }
    if prog.completed_steps:
        meta["completedSteps"] = prog.completed_steps
        meta["completedPercent"] = float32(prog.completed_steps / model.total_steps * 100.0)
        meta["snapshots"] = render_snapshots(model, prog.completed_steps)
    meta["tunedModel"] = model.name
    op: dict[str, Any] = {"name": model.operation_name, "metadata": meta}
    if prog.state is not State.CREATING:
        op["done"] = True
        if prog.error_code is not None:
            op["error"] = {"code": prog.error_code, "message": prog.error_message or ""}
        else:
            op["response"] = {
                "@type": f"{API_TYPE}.{pkg}.TunedModel",
                **render_tuned_model(model, prog, enum_int=enum_int),
            }
    return op


def render_permission(model_id: str, perm: PermissionRecord, *, enum_int: bool = False) -> dict[str, Any]:
    """The Permission resource."""
    out: dict[str, Any] = {"name": f"tunedModels/{model_id}/permissions/{perm.id}"}
    if enum_int:
        out["granteeType"] = ENUMS["Permission.GranteeType"].index(perm.grantee_type)
    else:
        out["granteeType"] = str(perm.grantee_type)
    if perm.email and perm.grantee_type is not GranteeType.EVERYONE:
        out["emailAddress"] = perm.email
    out["role"] = ENUMS["Permission.Role"].index(perm.role) if enum_int else str(perm.role)
    return out


# --------------------------------------------------------------------------- generation


def _norm_text(text: str) -> str:
    return " ".join(text.casefold().split())


def most_similar(examples: list[dict[str, str]], prompt: str, count: int) -> list[str]:
    """Outputs of the ``count`` training examples whose input is most similar to ``prompt``.

    Similarity is difflib's ratio on case-folded, whitespace-collapsed text (an exact match scores
    1.0); ties keep dataset order.
    """
    target = _norm_text(prompt)
    want = max(1, count)
    scored: list[tuple[float, int, str]] = []
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(target)
    for index, example in enumerate(examples):
        text = _norm_text(example.get("textInput", ""))
        if text == target:
            score = 2.0
        else:
            matcher.set_seq1(text)
            floor = scored[want - 1][0] if len(scored) >= want else 1.0
            # Upper bounds first: skip examples that cannot enter the top ``want``.
            if -matcher.real_quick_ratio() > floor or -matcher.quick_ratio() > floor:
                continue
            score = matcher.ratio()
        scored.append((-score, index, example.get("output", "")))
        scored.sort()
        del scored[want:]
    return [output for _, _, output in scored]


GEMINI_SAFETY = (
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)
PALM_SAFETY = (
    "HARM_CATEGORY_DEROGATORY",
    "HARM_CATEGORY_TOXICITY",
    "HARM_CATEGORY_VIOLENCE",
    "HARM_CATEGORY_SEXUAL",
    "HARM_CATEGORY_MEDICAL",
    "HARM_CATEGORY_DANGEROUS",
)


def _ratings(categories: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"category": c, "probability": "NEGLIGIBLE"} for c in categories]


# --------------------------------------------------------------------------- names and pages

_ALNUM = string.ascii_lowercase + string.digits


def slug(display_name: str) -> str:
    """The id prefix the service derives from a displayName.

    Lowercased; runs of spaces and hyphens become one hyphen; other characters are dropped
    (``test_number_generator`` -> ``testnumbergenerator``); starts with a letter; at most 27
    characters so that ``-`` and a 12-character suffix fit the 40-character id limit.
    """
    text = re.sub(r"[\s\-]+", "-", display_name.lower())
    text = re.sub(r"[^a-z0-9-]", "", text)
    text = re.sub(r"-+", "-", text).strip("-")
    text = re.sub(r"^[^a-z]+", "", text)
    return text[:27].rstrip("-")


def paged_response(key: str, chunk: list[Any], token: str | None) -> dict[str, Any]:
    """A List response: the page under ``key`` and ``nextPageToken``, each omitted when empty."""
    out: dict[str, Any] = {}
    if chunk:
        out[key] = chunk
    if token:
        out["nextPageToken"] = token
    return out


def encode_page_token(offset: int, fingerprint: str) -> str:
    """An opaque page token (URL-safe, no padding)."""
    raw = json.dumps({"o": offset, "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> int:
    """The offset in a page token; 400 when it is malformed or from a different query."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = int(data["o"])
        ok = data.get("f") == fingerprint and offset >= 0
    except Exception:
        ok = False
        offset = 0
    if not ok:
        raise InvalidArgument("Invalid page token.")
    return offset


def page(
    items: list[Any], query: Mapping[str, str], *, default: int, maximum: int, fingerprint: str
) -> tuple[list[Any], str | None]:
    """One page of ``items`` per ``pageSize``/``pageToken``; returns the page and the next token."""
    raw_size = query.get("pageSize")
    try:
        size = int(raw_size) if raw_size not in (None, "") else 0
    except ValueError:
        raise InvalidArgument(f"Invalid value for pageSize: {raw_size}") from None
    if size < 0:
        raise InvalidArgument("page_size must not be negative.")
    size = min(size or default, maximum)
    token = query.get("pageToken") or ""
    offset = decode_page_token(token, fingerprint) if token else 0
    chunk = items[offset : offset + size]
    following = offset + size
    return chunk, (encode_page_token(following, fingerprint) if following < len(items) else None)


# --------------------------------------------------------------------------- the backend


class Backend:
    """Every rule of the emulated service, over a :class:`Store`.

    Methods named after RPCs take the open transaction, the authenticated caller and the parsed
    call, and return the JSON body of a 200 response; they raise :class:`ApiError` otherwise.
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        #: Every RPC name a fault may target (other services add theirs).
        self.rpc_names: set[str] = set(RPC_METHODS)
        #: Called by :meth:`reset` inside its transaction (other services forget their state).
        self.reset_hooks: list[Callable[[Tx], None]] = []

    # ---------------------------------------------------------------- settings and clock
    def now_ns(self, tx: Tx) -> int:
        """The emulator's clock: real time, or the stored manual clock."""
        if tx.meta("clock_mode") == ClockMode.MANUAL:
            return int(tx.meta("clock_ns") or time.time_ns())
        return time.time_ns()

    def step_seconds(self, tx: Tx) -> float:
        """Time per training step for models created now."""
        value = tx.meta("step_seconds")
        return float(value) if value is not None else self.settings.step_seconds

    def seed(self, tx: Tx) -> int | None:
        """The seed of deterministic ids, suffixes, losses and fault dice (None = random)."""
        value = tx.meta("seed")
        return int(value) if value is not None else self.settings.seed

    def rng(self, tx: Tx) -> random.Random:
        """A random source: seeded (and advanced in the store) when a seed is set."""
        seed = self.seed(tx)
        if seed is None:
            return random.Random(secrets.randbits(64))
        counter = tx.next_counter("rng_counter")
        return random.Random(f"{seed}:{counter}")

    def settings_json(self, tx: Tx) -> dict[str, Any]:
        """The admin view of the settings."""
        mode = ClockMode(tx.meta("clock_mode") or ClockMode.REAL)
        return {
            "stepSeconds": self.step_seconds(tx),
            "seed": self.seed(tx),
            "clock": {"mode": str(mode), "now": format_timestamp(self.now_ns(tx))},
            "apiKeysConfigured": bool(self.settings.key_hashes),
            "accessTokensConfigured": bool(self.settings.token_hashes),
        }

    def set_step_seconds(self, tx: Tx, seconds: float) -> None:
        """Time per step for models created afterwards."""
        if not seconds > 0:
            raise InvalidArgument("stepSeconds must be positive.")
        tx.set_meta("step_seconds", repr(float(seconds)))

    def set_seed(self, tx: Tx, seed: int | None) -> None:
        """Make ids, suffixes, losses and dice deterministic from now on (None = random)."""
        tx.set_meta("seed", None if seed is None else str(int(seed)))
        tx.set_meta("rng_counter", "0")

    def set_clock(self, tx: Tx, mode: ClockMode) -> None:
        """Manual freezes the clock at the current instant; real returns to real time."""
        if mode is ClockMode.MANUAL:
            if tx.meta("clock_mode") != ClockMode.MANUAL:
                tx.set_meta("clock_ns", str(time.time_ns()))
            tx.set_meta("clock_mode", str(ClockMode.MANUAL))
        else:
            tx.set_meta("clock_mode", str(ClockMode.REAL))
            tx.set_meta("clock_ns", None)

    def advance(self, tx: Tx, *, seconds: float | None = None, steps: int | None = None) -> None:
        """Move the manual clock forward (switching to manual first if the clock is real)."""
        delta = 0
        if seconds is not None:
            delta += round(float(seconds) * NS)
        if steps is not None:
            delta += int(steps) * round(self.step_seconds(tx) * NS)
        if delta < 0:
            raise InvalidArgument("The clock only moves forward.")
        now = self.now_ns(tx)
        tx.set_meta("clock_mode", str(ClockMode.MANUAL))
        tx.set_meta("clock_ns", str(now + delta))

    def reset(self, tx: Tx) -> None:
        """Forget models, permissions, callers, faults, failures, journal; clock back to real."""
        tx.reset()
        tx.set_meta("clock_mode", None)
        tx.set_meta("clock_ns", None)
        tx.set_meta("step_seconds", None)
        tx.set_meta("rng_counter", "0")
        for hook in self.reset_hooks:
            hook(tx)

    # ---------------------------------------------------------------- faults
    def decide_fault(self, tx: Tx, rpc: str) -> FaultDecision | None:
        """The first stored fault matching ``rpc`` that fires (dice per ``rate``), or None."""
        for fault_id, fault in tx.faults():
            if fault.get("method", "*") not in ("*", rpc):
                continue
            rate = float(fault.get("rate", 1.0))
            if rate < 1.0 and self.rng(tx).random() >= rate:
                continue
            count = fault.get("count")
            if count is not None:
                if int(count) <= 1:
                    tx.delete_fault(fault_id)
                else:
                    tx.update_fault(fault_id, {**fault, "count": int(count) - 1})
            status = fault.get("status")
            error: ApiError | None = None
            if status is not None:
                error = self._injected(int(status), fault)
            return FaultDecision(int(fault.get("latencyMs") or 0), error, bool(fault.get("drop")))
        return None

    @staticmethod
    def _injected(status: int, fault: Mapping[str, Any]) -> ApiError:
        message = fault.get("message")
        if status == 429:
            retry_after = fault.get("retryAfter", 2)
            retry_after = 2 if retry_after is None else retry_after
            shown = int(retry_after) if float(retry_after).is_integer() else retry_after
            return InjectedError(
                429,
                message=message,
                details=[retry_info(float(retry_after))],
                headers={"Retry-After": str(math.ceil(float(shown)))},
            )
        headers: dict[str, str] = {}
        if status == 503 and fault.get("retryAfter") is not None:
            headers["Retry-After"] = str(math.ceil(float(fault["retryAfter"])))
        return InjectedError(status, message=message, headers=headers)

    # ---------------------------------------------------------------- auth
    def authenticate(
        self,
        tx: Tx,
        *,
        api_key: str | None,
        bearer: str | None,
        user_project: str | None,
    ) -> Caller:
        """The caller behind a key (``?key=``/``x-goog-api-key``) or a bearer token.

        Raises 403 for a request without credentials, 400 API_KEY_INVALID for a key that is not
        configured (only when keys are configured), 401 for an empty bearer token.
        """
        if api_key is not None and api_key != "":
            digest = credential_hash(api_key)
            if self.settings.key_hashes and digest not in self.settings.key_hashes:
                raise InvalidArgument(
                    "API key not valid. Please pass a valid API key.",
                    details=[error_info("API_KEY_INVALID")],
                )
            kind = "key"
        elif bearer is not None:
            if not bearer.strip():
                raise Unauthenticated(INVALID_TOKEN, details=[error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED")])
            digest = credential_hash(bearer.strip())
            if self.settings.token_hashes and digest not in self.settings.token_hashes:
                raise Unauthenticated(INVALID_TOKEN, details=[error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED")])
            kind = "token"
        elif api_key == "":
            raise InvalidArgument(
                "API key not valid. Please pass a valid API key.",
                details=[error_info("API_KEY_INVALID")],
            )
        else:
            raise PermissionDenied(UNREGISTERED)
        registered = tx.caller(digest)
        if registered is not None:
            email = str(registered.get("email") or self._derived_email(digest))
            groups = tuple(registered.get("groups") or ())
        else:
            email = self.settings.key_emails.get(digest) or self._derived_email(digest)
            groups = ()
        return Caller(digest, kind, email, groups, user_project)

    @staticmethod
    def _derived_email(digest: str) -> str:
        return f"caller-{digest[:10]}@emulator.local"

    def register_caller(
        self, tx: Tx, *, key: str | None, token: str | None, email: str | None, groups: list[str]
    ) -> dict[str, Any]:
        """Say who a credential is; returns the caller (never the credential)."""
        credential = key if key is not None else token
        if not credential:
            raise InvalidArgument('Give "key" or "token".')
        digest = credential_hash(credential)
        email = email or self.settings.key_emails.get(digest) or self._derived_email(digest)
        tx.put_caller(digest, {"email": email, "groups": list(groups)})
        return {"email": email, "groups": list(groups)}

    @staticmethod
    def role_of(
        caller: Caller,
        model: TunedModelRecord,
        perms: list[PermissionRecord],
        *,
        include_everyone: bool = True,
    ) -> Role | None:
        """The strongest role the caller holds on a model (None = no access)."""
        best: Role | None = None
        email = caller.email.casefold()
        groups = {g.casefold() for g in caller.groups}
        for perm in perms:
            grantee = (perm.email or "").casefold()
            matches = (
                (perm.grantee_type is GranteeType.USER and grantee == email)
                or (perm.grantee_type is GranteeType.GROUP and grantee in groups)
                or (perm.grantee_type is GranteeType.EVERYONE and include_everyone)
            )
            if matches and (best is None or perm.role.rank > best.rank):
                best = perm.role
        if (
            best is None
            and caller.project
            and caller.project.isdigit()
            and int(caller.project) in model.reader_project_numbers
        ):
            best = Role.READER
        return best

    def _model(self, tx: Tx, model_id: str) -> TunedModelRecord:
        data = tx.model(model_id)
        if data is None:
            raise not_found_tuned_model(f"tunedModels/{model_id}")
        return TunedModelRecord.from_dict(data)

    @staticmethod
    def _perms(tx: Tx, model_id: str) -> list[PermissionRecord]:
        return [PermissionRecord.from_dict(p) for p in tx.permissions(model_id)]

    def _require(
        self, tx: Tx, caller: Caller, model_id: str, need: Role
    ) -> tuple[TunedModelRecord, list[PermissionRecord]]:
        model = self._model(tx, model_id)
        perms = self._perms(tx, model_id)
        role = self.role_of(caller, model, perms)
        if role is None or role.rank < need.rank:
            raise no_access(model.name)
        return model, perms

    # ---------------------------------------------------------------- base models
    @staticmethod
    def _base_models(version: str) -> list[BaseModel]:
        return [m for m in BASE_MODELS if version in m.api_versions]

    def list_models(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """ListModels: the foundation models of this API version (default 50, max 1000)."""
        models = [m.to_json() for m in self._base_models(call.version)]
        chunk, token = page(
            models, call.query, default=50, maximum=1000, fingerprint=f"models:{call.version}"
        )
        out: dict[str, Any] = {"models": chunk}
        if token:
            out["nextPageToken"] = token
        return out

    def get_model(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """GetModel."""
        model_id = call.params["model"]
        for model in self._base_models(call.version):
            if model.id == model_id:
                return model.to_json()
        raise NotFound(
            f"models/{model_id} is not found for API version {call.version}, or is not supported "
            "for getModel. Call ListModels to see the list of available models and their "
            "supported methods."
        )

    # ---------------------------------------------------------------- tuned models
    def create_tuned_model(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """CreateTunedModel: validate, store in CREATING, return the Operation."""
        body = normalize("TunedModel", call.body, "tuned_model")
        version = call.version
        requested_id = call.query.get("tunedModelId")
        if requested_id is not None and requested_id != "":
            if not TUNED_MODEL_ID.fullmatch(requested_id):
                raise InvalidArgument(
                    f"tunedModelId {requested_id!r} is invalid: it must match "
                    "[a-z]([a-z0-9-]{0,38}[a-z0-9])? (up to 40 characters, starting with a "
                    "letter and ending with a letter or a number)."
                )
            if tx.model(requested_id) is not None:
                raise AlreadyExists(f"Tuned model tunedModels/{requested_id} already exists.")

        source = body.get("tunedModelSource") or {}
        base_name = body.get("baseModel")
        source_model = source.get("tunedModel")
        if base_name and source_model:
            raise InvalidArgument(
                "Only one of base_model and tuned_model_source may be set (oneof source_model)."
            )
        if not base_name and not source_model:
            raise InvalidArgument("base_model or tuned_model_source.tuned_model is required.")
        if source_model:
            source_id = str(source_model).removeprefix("tunedModels/")
            parent, _ = self._require(tx, caller, source_id, Role.READER)
            if progress(parent, self.now_ns(tx)).state is not State.ACTIVE:
                raise FailedPrecondition(f"Tuned model {parent.name} is not ACTIVE.")
            base_name = parent.base_model
        base = self._tunable_base(str(base_name), version)

        display_name = str(body.get("displayName") or "")
        if len(display_name) > MAX_DISPLAY_NAME:
            raise InvalidArgument(
                f"display_name must be at most {MAX_DISPLAY_NAME} characters, got {len(display_name)}."
            )
        task = body.get("tuningTask")
        if not task:
            raise InvalidArgument("tuning_task is required.")
        examples = ((task.get("trainingData") or {}).get("examples") or {}).get("examples") or []
        if not examples:
            raise InvalidArgument(
                "tuning_task.training_data.examples.examples is required: give at least one example."
            )
        for index, example in enumerate(examples):
            if "output" not in example or example.get("output") is None:
                raise InvalidArgument(
                    f"tuning_task.training_data.examples.examples[{index}].output is required."
                )
            if "textInput" not in example:
                raise InvalidArgument(
                    f"tuning_task.training_data.examples.examples[{index}].text_input is required."
                )
            if len(example["textInput"]) > MAX_INPUT_CHARS:
                raise InvalidArgument(
                    f"Example {index}: text_input is longer than {MAX_INPUT_CHARS} characters."
                )
            if len(example["output"]) > MAX_OUTPUT_CHARS:
                raise InvalidArgument(
                    f"Example {index}: output is longer than {MAX_OUTPUT_CHARS} characters."
                )
        hyper = self._hyperparameters(task.get("hyperparameters") or {}, len(examples), version)
        sampling = self._sampling(body, base)

        rng = self.rng(tx)
        model_id = requested_id or self._new_id(tx, display_name, rng)
        now = _us(self.now_ns(tx))
        step_ns = max(1, round(self.step_seconds(tx) * NS))
        offset = min(rng.randrange(80_000_000, 400_000_000), max(1, step_ns // 4))
        offset = offset - offset % 1000 + rng.randrange(1, 1000)
        total = total_steps(len(examples), hyper.epoch_count, hyper.batch_size)
        fail_at, fail_message = self._forced_failure(tx, model_id, display_name, total)
        record = TunedModelRecord(
            id=model_id,
            api_version=version,
            base_model=f"models/{base.id}",
            source_tuned_model=f"tunedModels/{source_model.removeprefix('tunedModels/')}"
            if source_model
            else None,
            display_name=display_name,
            description=str(body.get("description") or ""),
            temperature=sampling[0],
            top_p=sampling[1],
            top_k=sampling[2],
            reader_project_numbers=tuple(body.get("readerProjectNumbers") or ()),
            create_ns=now,
            update_ns=now,
            start_ns=now + offset,
            step_ns=step_ns,
            total_steps=total,
            n_examples=len(examples),
            epoch_count=hyper.epoch_count,
            batch_size=hyper.batch_size,
            learning_rate=hyper.learning_rate,
            learning_rate_multiplier=hyper.learning_rate_multiplier,
            operation_id="".join(rng.choice(_ALNUM) for _ in range(12)),
            loss_seed=rng.getrandbits(63),
            fail_at_step=fail_at,
            fail_message=fail_message,
        )
        stored_examples = [
            {"textInput": e.get("textInput", ""), "output": e.get("output", "")} for e in examples
        ]
        tx.insert_model(model_id, record.to_dict(), stored_examples)
        owner = PermissionRecord(self._permission_id(rng), GranteeType.USER, caller.email, Role.OWNER)
        tx.put_permission(model_id, owner.id, owner.to_dict())
        return {
            "name": record.operation_name,
            "metadata": {
                "@type": f"{API_TYPE}.{type_version(version)}.CreateTunedModelMetadata",
                "totalSteps": total,
                "tunedModel": record.name,
            },
        }

    def _tunable_base(self, name: str, version: str) -> BaseModel:
        model_id = name.removeprefix("models/")
        for model in self._base_models(version):
            if model.id == model_id and model.tunable:
                return model
        raise NotFound(
            f"models/{model_id} is not found for API version {version}, or is not supported for "
            "createTunedModel. Call ListModels to see the list of available models and their "
            "supported methods."
        )

    @staticmethod
    def _hyperparameters(raw: Mapping[str, Any], n: int, version: str) -> Hyperparameters:
        large = n >= LARGE_DATASET_EXAMPLES
        if version == "v1beta3":
            epochs, batch, rate = 10, (64 if large else 16), (0.002 if large else 0.0002)
        else:
            epochs, batch, rate = 5, (16 if large else 4), (0.0002 if large else 0.001)
        if "learningRate" in raw and "learningRateMultiplier" in raw:
            raise InvalidArgument(
                "Only one of learning_rate and learning_rate_multiplier may be set "
                "(oneof learning_rate_option)."
            )
        if "learningRateMultiplier" in raw and version == "v1beta3":
            raise InvalidArgument(
                'Invalid JSON payload received. Unknown name "learning_rate_multiplier" at '
                "'tuned_model.tuning_task.hyperparameters': Cannot find field."
            )
        epoch_count = int(raw["epochCount"]) if "epochCount" in raw else epochs
        batch_size = int(raw["batchSize"]) if "batchSize" in raw else batch
        if epoch_count <= 0:
            raise InvalidArgument("tuning_task.hyperparameters.epoch_count must be positive.")
        if batch_size <= 0:
            raise InvalidArgument("tuning_task.hyperparameters.batch_size must be positive.")
        multiplier: float | None = None
        if "learningRate" in raw:
            learning_rate = float(raw["learningRate"])
        elif "learningRateMultiplier" in raw:
            multiplier = float(raw["learningRateMultiplier"])
            learning_rate = multiplier * rate
        else:
            learning_rate = rate
        if not learning_rate > 0:
            raise InvalidArgument(
                "tuning_task.hyperparameters.learning_rate"
                + ("_multiplier" if multiplier is not None else "")
                + " must be positive."
            )
        return Hyperparameters(epoch_count, batch_size, learning_rate, multiplier)

    @staticmethod
    def _check_sampling(values: Mapping[str, Any], max_temperature: float) -> None:
        temperature = values.get("temperature")
        if temperature is not None and not 0.0 <= float(temperature) <= max_temperature:
            raise InvalidArgument(f"temperature must be in [0.0, {max_temperature:g}], got {temperature}.")
        top_p = values.get("topP")
        if top_p is not None and not 0.0 <= float(top_p) <= 1.0:
            raise InvalidArgument(f"top_p must be in [0.0, 1.0], got {top_p}.")
        top_k = values.get("topK")
        if top_k is not None and int(top_k) < 0:
            raise InvalidArgument(f"top_k must not be negative, got {top_k}.")

    def _sampling(
        self, body: Mapping[str, Any], base: BaseModel
    ) -> tuple[float | None, float | None, int | None]:
        self._check_sampling(body, base.max_temperature or 1.0)
        temperature = body.get("temperature")
        top_p = body.get("topP")
        top_k = body.get("topK")
        return (
            base.temperature if temperature is None else float(temperature),
            base.top_p if top_p is None else float(top_p),
            base.top_k if top_k is None else int(top_k),
        )

    @staticmethod
    def _new_id(tx: Tx, display_name: str, rng: random.Random) -> str:
        prefix = slug(display_name)
        while True:
            if prefix:
                candidate = f"{prefix}-{''.join(rng.choice(_ALNUM) for _ in range(12))}"
            else:
                length = rng.choice((11, 12))
                candidate = rng.choice(string.ascii_lowercase) + "".join(
                    rng.choice(_ALNUM) for _ in range(length - 1)
                )
            if tx.model(candidate) is None:
                return candidate

    @staticmethod
    def _permission_id(rng: random.Random) -> str:
        return "".join(rng.choice(_ALNUM) for _ in range(16))

    @staticmethod
    def _forced_failure(
        tx: Tx, model_id: str, display_name: str, total: int
    ) -> tuple[int | None, str | None]:
        for rule in tx.failures():
            pattern = str(rule.get("match") or "")
            try:
                regex = re.compile(pattern)
            except re.error:
                continue
            if regex.search(model_id) or (display_name and regex.search(display_name)):
                percent = float(rule.get("atPercent") or 0.0)
                at = min(total, max(1, math.ceil(total * percent / 100.0)))
                return at, rule.get("message") or None
        return None, None

    def get_tuned_model(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """GetTunedModel (READER)."""
        model, _ = self._require(tx, caller, call.params["id"], Role.READER)
        return render_tuned_model(model, progress(model, self.now_ns(tx)), enum_int=call.enum_int)

    def list_tuned_models(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """ListTunedModels: the caller's models (owned or shared), filtered, paged (10/1000)."""
        terms = (call.query.get("filter") or "").split()
        flags = {t.lower() for t in terms if ":" in t}
        words = [t.casefold() for t in terms if ":" not in t]
        unknown = flags - {"owner:me", "writers:me", "readers:me", "readers:everyone"}
        if unknown:
            raise InvalidArgument(f"Invalid filter: {sorted(unknown)[0]}")
        everyone = "readers:everyone" in flags
        all_perms = tx.all_permissions()
        now = self.now_ns(tx)
        visible: list[dict[str, Any]] = []
        for data in tx.models():
            model = TunedModelRecord.from_dict(data)
            perms = [PermissionRecord.from_dict(p) for p in all_perms.get(model.id, [])]
            direct = self.role_of(caller, model, perms, include_everyone=False)
            shared = any(p.grantee_type is GranteeType.EVERYONE for p in perms)
            if everyone:
                if not shared:
                    continue
            elif direct is None:
                continue
            if "owner:me" in flags and direct is not Role.OWNER:
                continue
            if "writers:me" in flags and (direct is None or direct.rank < Role.WRITER.rank):
                continue
            if "readers:me" in flags and direct is None:
                continue
            text = f"{model.display_name}\n{model.description}".casefold()
            if any(w not in text for w in words):
                continue
            visible.append(render_tuned_model(model, progress(model, now), enum_int=call.enum_int))
        # The token is bound to the filter, not to the credential: the official list sample sends
        # the second page with an API key after listing the first with OAuth.
        fingerprint = hashlib.sha256((call.query.get("filter") or "").encode()).hexdigest()[:16]
        chunk, token = page(visible, call.query, default=10, maximum=1000, fingerprint=fingerprint)
        return paged_response("tunedModels", chunk, token)

    def update_tuned_model(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """UpdateTunedModel (WRITER): only masked mutable fields change; updateTime moves."""
        model, _ = self._require(tx, caller, call.params["id"], Role.WRITER)
        body = normalize("TunedModel", call.body, "tuned_model")
        mask_text = call.query.get("updateMask")
        if mask_text is None or mask_text.strip() == "":
            if call.version == "v1beta3":
                raise InvalidArgument("update_mask is required.")
            paths = [f for f in MUTABLE_FIELDS if f in body]
        else:
            paths = []
            for raw in mask_text.split(","):
                path = raw.strip()
                if not path:
                    continue
                name = ".".join(camel(part) for part in path.split("."))
                if name not in MUTABLE_FIELDS or (
                    name == "readerProjectNumbers" and call.version == "v1beta3"
                ):
                    raise InvalidArgument(
                        f"Invalid update mask path: {path!r} cannot be updated. Updatable fields "
                        "are display_name, description, temperature, top_p, top_k and "
                        "reader_project_numbers.",
                    )
                paths.append(name)
        base = next((m for m in BASE_MODELS if f"models/{m.id}" == model.base_model), None)
        self._check_sampling({p: body.get(p) for p in paths}, (base.max_temperature if base else None) or 1.0)
        changes: dict[str, Any] = {}
        for path in paths:
            value = body.get(path)
            if path == "displayName":
                text = str(value or "")
                if len(text) > MAX_DISPLAY_NAME:
                    raise InvalidArgument(f"display_name must be at most {MAX_DISPLAY_NAME} characters.")
                changes["display_name"] = text
            elif path == "description":
                changes["description"] = str(value or "")
            elif path == "temperature":
                changes["temperature"] = None if value is None else float(value)
            elif path == "topP":
                changes["top_p"] = None if value is None else float(value)
            elif path == "topK":
                changes["top_k"] = None if value is None else int(value)
            elif path == "readerProjectNumbers":
                changes["reader_project_numbers"] = tuple(int(v) for v in value or ())
        now = self.now_ns(tx)
        updated = replace(model, **changes, update_ns=max(_us(now), model.update_ns))
        tx.update_model(model.id, updated.to_dict())
        return render_tuned_model(updated, progress(updated, now), enum_int=call.enum_int)

    def delete_tuned_model(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """DeleteTunedModel (OWNER), in any state; returns Empty."""
        model, _ = self._require(tx, caller, call.params["id"], Role.OWNER)
        tx.delete_model(model.id)
        return {}

    # ---------------------------------------------------------------- operations
    def _operation_model(self, tx: Tx, caller: Caller, call: Call, need: Role) -> TunedModelRecord:
        model, _ = self._require(tx, caller, call.params["id"], need)
        if call.params["op"] != model.operation_id:
            raise NotFound(f"Operation {model.name}/operations/{call.params['op']} does not exist.")
        return model

    def get_operation(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """GetOperation (READER on the model): progress, snapshots, then done + response/error."""
        model = self._operation_model(tx, caller, call, Role.READER)
        prog = progress(model, self.now_ns(tx))
        return render_operation(model, prog, call.version, enum_int=call.enum_int)

    def list_operations(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """ListOperations of one tuned model, or (``/v1/operations``) of every visible model."""
        now = self.now_ns(tx)
        if "id" in call.params:
            models = [self._require(tx, caller, call.params["id"], Role.READER)[0]]
        else:
            all_perms = tx.all_permissions()
            models = []
            for data in tx.models():
                model = TunedModelRecord.from_dict(data)
                perms = [PermissionRecord.from_dict(p) for p in all_perms.get(model.id, [])]
                if self.role_of(caller, model, perms, include_everyone=False) is not None:
                    models.append(model)
        ops = [render_operation(m, progress(m, now), call.version, enum_int=call.enum_int) for m in models]
        fingerprint = f"ops:{call.params.get('id', '')}"
        chunk, token = page(ops, call.query, default=10, maximum=1000, fingerprint=fingerprint)
        return paged_response("operations", chunk, token)

    def cancel_operation(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """CancelOperation (WRITER): a running job stops and its model ends FAILED; else no-op."""
        model = self._operation_model(tx, caller, call, Role.WRITER)
        now = self.now_ns(tx)
        if progress(model, now).state is State.CREATING:
            cancelled = replace(model, cancel_ns=_us(now), update_ns=max(_us(now), model.update_ns))
            tx.update_model(model.id, cancelled.to_dict())
        return {}

    # ---------------------------------------------------------------- generation
    def _active(self, tx: Tx, caller: Caller, call: Call) -> TunedModelRecord:
        model, _ = self._require(tx, caller, call.params["id"], Role.READER)
        state = progress(model, self.now_ns(tx)).state
        if state is not State.ACTIVE:
            raise FailedPrecondition(
                f"Tuned model {model.name} is not ready for inference: its state is {state} "
                "(only ACTIVE tuned models can generate content)."
            )
        return model

    def generate_content(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """GenerateContent (READER, ACTIVE): the output of the most similar training example."""
        body = normalize("GenerateContentRequest", call.body, "")
        contents = body.get("contents")
        if not contents:
            raise InvalidArgument("* GenerateContentRequest.contents: contents is not specified\n")
        model = self._active(tx, caller, call)
        prompt = ""
        for content in reversed(contents):
            if isinstance(content, dict) and content.get("role", "user") != "model":
                parts = content.get("parts") or []
                prompt = "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
                break
        config = body.get("generationConfig") or {}
        count = 1
        if isinstance(config, dict):
            raw = config.get("candidateCount", config.get("candidate_count", 1))
            count = max(1, min(8, int32_value("generation_config.candidate_count", raw or 1)))
        outputs = most_similar(tx.examples(model.id), prompt, count)
        return {
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": "STOP",
                    "index": i,
                    "safetyRatings": _ratings(GEMINI_SAFETY),
                }
                for i, text in enumerate(outputs)
            ],
            "promptFeedback": {"safetyRatings": _ratings(GEMINI_SAFETY)},
        }

    def generate_text(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """GenerateText (PaLM): ``prompt.text`` -> ``candidates[].output``."""
        body = normalize("GenerateTextRequest", call.body, "")
        prompt = (body.get("prompt") or {}).get("text")
        if prompt is None:
            raise InvalidArgument("prompt is required.")
        model = self._active(tx, caller, call)
        count = max(1, min(8, int32_value("candidate_count", body.get("candidateCount") or 1)))
        outputs = most_similar(tx.examples(model.id), str(prompt), count)
        return {"candidates": [{"output": text, "safetyRatings": _ratings(PALM_SAFETY)} for text in outputs]}

    # ---------------------------------------------------------------- permissions
    def _permission(
        self, perms: list[PermissionRecord], model: TunedModelRecord, perm_id: str
    ) -> PermissionRecord:
        for perm in perms:
            if perm.id == perm_id:
                return perm
        raise NotFound(f"Permission {model.name}/permissions/{perm_id} does not exist.")

    def create_permission(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """CreatePermission (WRITER): grant USER/GROUP/EVERYONE a READER or WRITER role."""
        model, perms = self._require(tx, caller, call.params["id"], Role.WRITER)
        body = normalize("Permission", call.body, "permission")
        role_name = body.get("role")
        if not role_name or role_name == "ROLE_UNSPECIFIED":
            raise InvalidArgument("permission.role is required.")
        role = Role(role_name)
        if role is Role.OWNER:
            raise InvalidArgument("A permission cannot be created with role OWNER; use transferOwnership.")
        email = body.get("emailAddress") or None
        grantee_name = body.get("granteeType")
        if not grantee_name or grantee_name == "GRANTEE_TYPE_UNSPECIFIED":
            if email is None:
                raise InvalidArgument("permission.grantee_type is required.")
            grantee_name = "GROUP" if email.lower().endswith("googlegroups.com") else "USER"
        grantee = GranteeType(grantee_name)
        if grantee is GranteeType.EVERYONE and email:
            raise InvalidArgument("permission.email_address must not be set for EVERYONE.")
        if grantee is not GranteeType.EVERYONE and not email:
            raise InvalidArgument(f"permission.email_address is required for {grantee}.")
        for perm in perms:
            same = perm.grantee_type is grantee and (
                grantee is GranteeType.EVERYONE or (perm.email or "").casefold() == (email or "").casefold()
            )
            if same:
                raise AlreadyExists(
                    f"Permission for {email or 'everyone'} already exists on {model.name}: "
                    f"{model.name}/permissions/{perm.id}."
                )
        perm = PermissionRecord(self._permission_id(self.rng(tx)), grantee, email, role)
        tx.put_permission(model.id, perm.id, perm.to_dict())
        return render_permission(model.id, perm, enum_int=call.enum_int)

    def get_permission(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """GetPermission (WRITER)."""
        model, perms = self._require(tx, caller, call.params["id"], Role.WRITER)
        perm = self._permission(perms, model, call.params["perm"])
        return render_permission(model.id, perm, enum_int=call.enum_int)

    def list_permissions(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """ListPermissions (WRITER), paged (10/1000)."""
        model, perms = self._require(tx, caller, call.params["id"], Role.WRITER)
        rendered = [render_permission(model.id, p, enum_int=call.enum_int) for p in perms]
        chunk, token = page(rendered, call.query, default=10, maximum=1000, fingerprint=f"perms:{model.id}")
        return paged_response("permissions", chunk, token)

    def update_permission(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """UpdatePermission (WRITER): ``updateMask=role`` only; OWNER changes via transfer."""
        model, perms = self._require(tx, caller, call.params["id"], Role.WRITER)
        perm = self._permission(perms, model, call.params["perm"])
        body = normalize("Permission", call.body, "permission")
        mask = [p.strip() for p in (call.query.get("updateMask") or "").split(",") if p.strip()]
        if not mask:
            raise InvalidArgument("update_mask is required. Accepted paths: role.")
        for path in mask:
            if camel(path) != "role":
                raise InvalidArgument(
                    f"Invalid update mask path: {path!r} cannot be updated. Accepted paths: role."
                )
        role_name = body.get("role")
        if not role_name or role_name == "ROLE_UNSPECIFIED":
            raise InvalidArgument("permission.role is required.")
        role = Role(role_name)
        if role is Role.OWNER or perm.role is Role.OWNER:
            raise InvalidArgument("The OWNER role can only change through transferOwnership.")
        updated = replace(perm, role=role)
        tx.put_permission(model.id, perm.id, updated.to_dict())
        return render_permission(model.id, updated, enum_int=call.enum_int)

    def delete_permission(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """DeletePermission (WRITER); the OWNER permission cannot be deleted."""
        model, perms = self._require(tx, caller, call.params["id"], Role.WRITER)
        perm = self._permission(perms, model, call.params["perm"])
        if perm.role is Role.OWNER:
            raise InvalidArgument("The OWNER permission cannot be deleted; use transferOwnership.")
        tx.delete_permission(model.id, perm.id)
        return {}

    def transfer_ownership(self, tx: Tx, caller: Caller, call: Call) -> dict[str, Any]:
        """TransferOwnership (OWNER): the new owner gets OWNER, the old owner becomes WRITER."""
        model, perms = self._require(tx, caller, call.params["id"], Role.OWNER)
        body = normalize("TransferOwnershipRequest", call.body, "")
        email = body.get("emailAddress")
        if not email:
            raise InvalidArgument("email_address is required.")
        target = next(
            (
                p
                for p in perms
                if p.grantee_type is GranteeType.USER and (p.email or "").casefold() == email.casefold()
            ),
            None,
        )
        for perm in perms:
            if perm.role is Role.OWNER and perm is not target:
                demoted = replace(perm, role=Role.WRITER)
                tx.put_permission(model.id, perm.id, demoted.to_dict())
        if target is None:
            target = PermissionRecord(self._permission_id(self.rng(tx)), GranteeType.USER, email, Role.OWNER)
        else:
            target = replace(target, role=Role.OWNER)
        tx.put_permission(model.id, target.id, target.to_dict())
        return {}


#: RPC name -> backend method name.
RPC_METHODS: dict[str, str] = {
    "ListModels": "list_models",
    "GetModel": "get_model",
    "CreateTunedModel": "create_tuned_model",
    "GetTunedModel": "get_tuned_model",
    "ListTunedModels": "list_tuned_models",
    "UpdateTunedModel": "update_tuned_model",
    "DeleteTunedModel": "delete_tuned_model",
    "GetOperation": "get_operation",
    "ListOperations": "list_operations",
    "CancelOperation": "cancel_operation",
    "GenerateContent": "generate_content",
    "GenerateText": "generate_text",
    "CreatePermission": "create_permission",
    "GetPermission": "get_permission",
    "ListPermissions": "list_permissions",
    "UpdatePermission": "update_permission",
    "DeletePermission": "delete_permission",
    "TransferOwnership": "transfer_ownership",
}

__all__ = [
    "BASE_MODELS",
    "RPC_METHODS",
    "TRANSITIONS",
    "Backend",
    "Call",
    "Caller",
    "ClockMode",
    "GranteeType",
    "PermissionRecord",
    "Progress",
    "Role",
    "Settings",
    "State",
    "TunedModelRecord",
    "credential_hash",
    "progress",
    "snake",
    "total_steps",
]
