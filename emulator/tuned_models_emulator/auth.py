"""Who is calling, and what they may do: authentication and per-model roles.

A caller is identified by the SHA-256 of its API key (``?key=`` / ``x-goog-api-key``) or bearer
token; its email comes from the process settings (``--api-key KEY=EMAIL``), from the admin route
``POST /_emulator/callers``, or is derived from the hash. Roles are concentric (OWNER > WRITER >
READER) and granted per tuned model by permissions.
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

UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
INVALID_KEY = "API key not valid. Please pass a valid API key."
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


def token_accepted(settings: Settings, bearer: str) -> bool:
    """Whether a bearer token is accepted: any non-empty one, unless tokens are configured
    (``--access-token``), then only those."""
    token = bearer.strip()
    return bool(token) and (not settings.token_hashes or credential_hash(token) in settings.token_hashes)


def authenticate(settings: Settings, tx: Tx, credentials: Credentials) -> Caller:
    """The caller behind a request's credentials.

    Raises 403 for a request without credentials, 400 API_KEY_INVALID for a key that is not
    configured (only when keys are configured) or empty, 401 for an empty bearer token or, when
    tokens are configured, one that is not.
    """
    api_key, bearer = credentials.api_key, credentials.bearer
    if api_key:
        digest = credential_hash(api_key)
        if settings.key_hashes and digest not in settings.key_hashes:
            raise InvalidArgument(INVALID_KEY, details=[error_info("API_KEY_INVALID")])
        kind = CredentialKind.KEY
    elif bearer is not None:
        if not token_accepted(settings, bearer):
            raise Unauthenticated(INVALID_TOKEN, details=[error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED")])
        digest = credential_hash(bearer.strip())
        kind = CredentialKind.TOKEN
    elif api_key == "":
        raise InvalidArgument(INVALID_KEY, details=[error_info("API_KEY_INVALID")])
    else:
        raise PermissionDenied(UNREGISTERED)
    registered = tx.caller(digest)
    if registered is not None:
        email = str(registered.get("email") or derived_email(digest))
        groups = tuple(registered.get("groups") or ())
    else:
        email = settings.key_emails.get(digest) or derived_email(digest)
        groups = ()
    return Caller(digest, kind, email, groups, credentials.user_project)


def register_caller(
    settings: Settings, tx: Tx, *, key: str | None, token: str | None, email: str | None, groups: list[str]
) -> dict[str, object]:
    """Say who a credential is; returns the caller (never the credential)."""
    credential = key if key is not None else token
    if not credential:
        raise InvalidArgument('Give "key" or "token".')
    digest = credential_hash(credential)
    email = email or settings.key_emails.get(digest) or derived_email(digest)
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
    if (
        best is None
        and caller.project
        and caller.project.isdigit()
        and int(caller.project) in model.reader_project_numbers
    ):
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
