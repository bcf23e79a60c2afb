"""The emulator's vocabulary: enums, plain typed records, per-process settings and the base models.

Records are frozen dataclasses, stored as JSON text by :mod:`tuned_models_emulator.store` and read
back by their field types (:class:`StoredRecord`, the base of every service's records). They carry no
rules: the rules are in :mod:`tuned_models_emulator.backend`, training in
:mod:`tuned_models_emulator.training`, and the JSON the API returns in
:mod:`tuned_models_emulator.render`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Self, cast

from pydantic import TypeAdapter

from tuned_models_emulator.errors import not_found_tuned_model
from tuned_models_emulator.store import Tx

NS = 1_000_000_000
"""Nanoseconds per second: every instant the emulator stores is nanoseconds since the epoch."""


class State(StrEnum):
    """TunedModel.State."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"


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


class CredentialKind(StrEnum):
    """How a caller proved who it is."""

    KEY = "key"
    TOKEN = "token"
    #: No credentials: Cloud Storage lets such a caller in and refuses it per method (``allUsers``).
    ANONYMOUS = "anonymous"


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


_ALL_VERSIONS = ("v1", "v1beta", "v1alpha", "v1beta3")
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
        _ALL_VERSIONS,
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
        _ALL_VERSIONS,
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
        _ALL_VERSIONS,
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
        _ALL_VERSIONS,
    ),
)


def base_models(version: str) -> list[BaseModel]:
    """The foundation models served under an API version, in ListModels order."""
    return [m for m in BASE_MODELS if version in m.api_versions]


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


class StoredRecord:
    """A frozen dataclass kept in the store as JSON, written and read back by its field types:
    :meth:`to_dict` for ``json.dumps`` and :meth:`from_dict` from ``json.loads`` (lists come back
    as tuples, nested records and enums as themselves)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict for the store."""
        return asdict(cast(Any, self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The inverse of :meth:`to_dict`."""
        adapter = _ADAPTERS.get(cls)
        if adapter is None:
            adapter = _ADAPTERS.setdefault(cls, TypeAdapter(cls))
        record: Self = adapter.validate_python(data)
        return record


@dataclass(frozen=True, slots=True)
class Hyperparameters:
    """Resolved hyperparameters (defaults applied)."""

    epoch_count: int
    batch_size: int
    learning_rate: float
    learning_rate_multiplier: float | None = None


@dataclass(frozen=True, slots=True)
class TunedModelRecord(StoredRecord):
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


@dataclass(frozen=True, slots=True)
class PermissionRecord(StoredRecord):
    """A stored permission on a tuned model."""

    id: str
    grantee_type: GranteeType
    email: str | None
    role: Role


def load_model(tx: Tx, model_id: str) -> TunedModelRecord:
    """The stored tuned model ``model_id``; raises the real 404 when there is none."""
    data = tx.model(model_id)
    if data is None:
        raise not_found_tuned_model(f"tunedModels/{model_id}")
    return TunedModelRecord.from_dict(data)


def load_permissions(tx: Tx, model_id: str) -> list[PermissionRecord]:
    """The permissions of a tuned model, in creation order."""
    return [PermissionRecord.from_dict(p) for p in tx.permissions(model_id)]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a credential (stored only as its SHA-256), an email and groups."""

    credential_hash: str
    kind: CredentialKind
    email: str
    groups: tuple[str, ...] = ()
    project: str | None = None


def credential_hash(credential: str) -> str:
    """SHA-256 hex of a key or token: the only form in which credentials are kept."""
    return hashlib.sha256(credential.encode("utf-8")).hexdigest()


#: The longest training step (seconds): a day.
MAX_STEP_SECONDS = 86_400.0


def split_credential(entry: str) -> tuple[str, str | None]:
    """``KEY`` or ``KEY=EMAIL`` (also ``TOKEN=EMAIL``): the credential and its email. The email is
    what follows the last ``=`` when it holds an ``@`` (a token may end in ``=`` padding).

    Raises ValueError for an empty credential.
    """
    head, sep, tail = entry.rpartition("=")
    credential, email = (head, tail) if sep and "@" in tail else (entry, None)
    if not credential:
        raise ValueError(f"a key or token must not be empty (KEY or KEY=EMAIL), got {entry!r}")
    return credential, email


@dataclass(frozen=True)
class Settings:
    """Per-process settings: defaults for the stored ones, the accepted API keys and bearer tokens,
    the admin token (every credential kept only as its hash), and the Cloud Storage buckets that
    always exist.

    ``admin_hosts``: when there is no admin token, the Host names admin requests may carry (None =
    any, for the in-process transport).
    """

    step_seconds: float = 1.0
    seed: int | None = None
    key_hashes: frozenset[str] = frozenset()
    token_hashes: frozenset[str] = frozenset()
    emails: Mapping[str, str] = field(default_factory=dict)
    admin_token_hash: str | None = None
    admin_hosts: frozenset[str] | None = None
    buckets: tuple[str, ...] = ()

    @property
    def credentials_configured(self) -> bool:
        """Whether only known credentials are accepted (some key or token was configured)."""
        return bool(self.key_hashes or self.token_hashes)

    @classmethod
    def build(
        cls,
        *,
        step_seconds: float = 1.0,
        api_keys: Iterable[str] = (),
        tokens: Iterable[str] = (),
        seed: int | None = None,
        admin_token: str | None = None,
        admin_hosts: Iterable[str] | None = None,
        buckets: Iterable[str] = (),
    ) -> Settings:
        """Settings from ``KEY`` / ``KEY=EMAIL`` and ``TOKEN`` / ``TOKEN=EMAIL`` entries; raw
        credentials and the admin token are hashed at once.

        Raises ValueError for a step time outside (0, :data:`MAX_STEP_SECONDS`], an empty key or
        token, or an empty admin token.
        """
        if not 0 < step_seconds <= MAX_STEP_SECONDS:
            raise ValueError(f"the step time must be positive and at most {MAX_STEP_SECONDS:g} seconds")
        if admin_token is not None and not admin_token:
            raise ValueError("the admin token must not be empty")
        emails: dict[str, str] = {}

        def hashed(entries: Iterable[str]) -> frozenset[str]:
            digests: set[str] = set()
            for entry in entries:
                credential, email = split_credential(entry)
                digest = credential_hash(credential)
                digests.add(digest)
                if email:
                    emails[digest] = email
            return frozenset(digests)

        return cls(
            step_seconds,
            seed,
            hashed(api_keys),
            hashed(tokens),
            emails,
            None if admin_token is None else credential_hash(admin_token),
            None if admin_hosts is None else frozenset(h.lower() for h in admin_hosts),
            tuple(buckets),
        )
