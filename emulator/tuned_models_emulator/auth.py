"""Who is calling, and what they may do: authentication and per-model roles.

A caller is identified by the SHA-256 of its API key (``?key=`` / ``x-goog-api-key``) or bearer
token. Without configured credentials any key or token is a caller; with some (``--api-key``,
``--token``), only those and the ones registered through ``POST /_emulator/callers``: one rule
for every surface (:func:`token_digest`), each answering a refused token with its own 401. The
email comes from the settings (``--api-key KEY=EMAIL``, ``--token TOKEN=EMAIL``), from the
registration, or is derived from the hash. Roles are concentric (OWNER > WRITER > READER) and
granted per tuned model by permissions.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuned_models_emulator.errors import (
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    error_info,
    no_access,
)
from tuned_models_emulator.records import (
    Caller,
    CredentialKind,
    GranteeType,
    PermissionRecord,
    Role,
    Settings,
    TunedModelRecord,
    credential_hash,
    load_model,
    load_permissions,
)
from tuned_models_emulator.store import Tx
from tuned_models_emulator.wire import decimal

UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
INVALID_KEY = "API key not valid. Please pass a valid API key."
#: Longer keys and tokens are invalid (Google's access tokens are at most 2,048 bytes).
MAX_CREDENTIAL_CHARS = 8192
INVALID_TOKEN = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presented: an API key, a bearer token (``""`` for an Authorization header
    that is not a bearer token), and the quota project (``x-goog-user-project``)."""

    api_key: str | None = None
    bearer: str | None = None
    user_project: str | None = None


def derived_email(digest: str) -> str:
    """The email of a caller nobody registered: ``caller-<10 hex of its hash>@emulator.local``."""
    return f"caller-{digest[:10]}@emulator.local"


#: Sent with every 401 for a bearer token, as Google's front end does.
INVALID_TOKEN_CHALLENGE = {
    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
}


def token_digest(settings: Settings, tx: Tx, bearer: str) -> str | None:
    """The hash of an accepted bearer token: any non-empty one when no credential is configured
    (:attr:`Settings.credentials_configured`), else a configured or registered one. None for a
    token that is not accepted (empty, longer than :data:`MAX_CREDENTIAL_CHARS`, or unknown).

    The one rule for tokens on every surface (the Gemini API, Vertex AI, Cloud Storage); each
    answers None with its own 401.
    """
    token = bearer.strip() if len(bearer) <= MAX_CREDENTIAL_CHARS else ""
    digest = credential_hash(token) if token else ""
    if not digest or not _accepted(settings, tx, digest, settings.token_hashes):
        return None
    return digest


def caller_of(
    settings: Settings, tx: Tx, digest: str, kind: CredentialKind, user_project: str | None
) -> Caller:
    """The caller an accepted credential stands for: its registered email and groups, else the
    email configured with it, else one derived from its hash."""
    registered = tx.caller(digest)
    if registered is not None:
        email = str(registered.get("email") or derived_email(digest))
        groups = tuple(registered.get("groups") or ())
    else:
        email = settings.emails.get(digest) or derived_email(digest)
        groups = ()
    return Caller(digest, kind, email, groups, user_project)


def authenticate(settings: Settings, tx: Tx, credentials: Credentials) -> Caller:
    """The caller behind a request's credentials (the Gemini API's rules).

    Raises 403 for a request without credentials; 400 API_KEY_INVALID for an empty key, or, when
    credentials are configured (:attr:`Settings.credentials_configured`), for a key that is
    neither configured nor registered; 401 for a bearer token :func:`token_digest` refuses. Keys
    longer than :data:`MAX_CREDENTIAL_CHARS` are invalid.
    """
    api_key, bearer = credentials.api_key, credentials.bearer
    if api_key:
        digest = credential_hash(api_key) if len(api_key) <= MAX_CREDENTIAL_CHARS else ""
        if not digest or not _accepted(settings, tx, digest, settings.key_hashes):
            raise InvalidArgument(INVALID_KEY, details=[error_info("API_KEY_INVALID")])
        kind = CredentialKind.KEY
    elif bearer is not None:
        token = token_digest(settings, tx, bearer)
        if token is None:
            raise Unauthenticated(
                INVALID_TOKEN,
                details=[error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED")],
                headers=INVALID_TOKEN_CHALLENGE,
            )
        digest, kind = token, CredentialKind.TOKEN
    elif api_key == "":
        raise InvalidArgument(INVALID_KEY, details=[error_info("API_KEY_INVALID")])
    else:
        raise PermissionDenied(UNREGISTERED)
    return caller_of(settings, tx, digest, kind, credentials.user_project)


def _accepted(settings: Settings, tx: Tx, digest: str, configured: frozenset[str]) -> bool:
    """Any credential when none is configured; else a configured or registered one."""
    return not settings.credentials_configured or digest in configured or tx.caller(digest) is not None


def register_caller(
    settings: Settings, tx: Tx, *, key: str | None, token: str | None, email: str | None, groups: list[str]
) -> dict[str, object]:
    """Say who a credential is; returns the caller (never the credential)."""
    credential = key if key is not None else token
    if not credential:
        raise InvalidArgument('Give "key" or "token".')
    digest = credential_hash(credential)
    email = email or settings.emails.get(digest) or derived_email(digest)
    tx.put_caller(digest, {"email": email, "groups": list(groups)})
    return {"email": email, "groups": list(groups)}


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
    project = decimal(caller.project or "", digits=19)
    if best is None and project is not None and project in model.reader_project_numbers:
        best = Role.READER
    return best


def require(
    tx: Tx, caller: Caller, model_id: str, need: Role
) -> tuple[TunedModelRecord, list[PermissionRecord]]:
    """The model and its permissions, when the caller holds at least ``need`` on it.

    Raises the real 404 for a missing model and the real 403 for too weak a role.
    """
    model = load_model(tx, model_id)
    perms = load_permissions(tx, model_id)
    role = role_of(caller, model, perms)
    if role is None or role.rank < need.rank:
        raise no_access(model.name)
    return model, perms
