"""``GeminiClient``: the Gemini API's tuning surface over one synchronous ``httpx.Client``.

One method per REST call (tuned models, operations, permissions, generateContent, base models).
Every call has a timeout, is retried according to :mod:`.retry` when repeating it is safe, and
raises a :class:`~tuned_models.gemini.errors.GeminiError` subclass carrying the service's message.
The client is safe to use from many threads at once.
"""

from __future__ import annotations

import logging
import random as _random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import metadata
from typing import Any, TypeVar

import httpx
import pydantic

from .errors import GeminiError
from .retry import RetryPolicy, send_with_retry
from .types import (
    GenerateContentResponse,
    GranteeType,
    Model,
    Operation,
    Permission,
    Role,
    TunedModel,
)

__all__ = ["DEFAULT_RETRY", "GeminiClient"]

log = logging.getLogger("tuned_models.gemini")

#: The retry policy a client uses unless told otherwise.
DEFAULT_RETRY = RetryPolicy()
#: Page size used by the methods that read every page.
_ALL_PAGES_SIZE = 100
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")
_M = TypeVar("_M", bound=pydantic.BaseModel)


def _user_agent() -> str:
    try:
        version = metadata.version("tuned-models")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"tuned-models/{version} httpx/{httpx.__version__}"


#: Bounds on following ``nextPageToken``: a misbehaving server must not page forever.
_MAX_PAGES = 10_000
_MAX_EMPTY_PAGES = 100


class GeminiClient:
    """A client of the Gemini API (or of an emulator of it) at ``base_url``.

    Args:
        base_url: e.g. ``https://generativelanguage.googleapis.com`` (no version path).
        auth: an ``httpx.Auth`` from :mod:`.auth` (``None`` sends no credentials).
        transport: an httpx transport to use instead of the network (the embedded emulator).
        timeout: seconds allowed for each HTTP exchange (connect, read, write, pool).
        retry: the retry policy; :data:`DEFAULT_RETRY` by default.
        sleep: how to wait between retries (injected by tests).
        api_version: the version path of the tuned-model, permission and model calls;
            operations are always read and cancelled under ``/v1/``, as the service documents.
        random: a source of floats in ``[0, 1)`` for retry jitter (injected by tests).
        clock: monotonic seconds, for the retry policy's per-call deadline (injected by tests).

    Names are accepted with or without their collection prefix where that is unambiguous:
    ``"my-model"`` and ``"tunedModels/my-model"`` name the same tuned model.
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        api_version: str = "v1beta",
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.retry = retry
        self.timeout = timeout
        self._auth = auth
        self._sleep = sleep
        self._random = random
        self._clock = clock
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers={"user-agent": _user_agent()},
            follow_redirects=False,
            trust_env=transport is None,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (and the transport, unless it is shared)."""
        self._http.close()

    def __enter__(self) -> GeminiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GeminiClient(base_url={self.base_url!r}, auth={self._auth!r})"

    # -- tuned models ------------------------------------------------------------------------

    def create_tuned_model(self, model: Mapping[str, Any], tuned_model_id: str | None = None) -> Operation:
        """``POST /v1beta/tunedModels[?tunedModelId=ID]``: start tuning ``model`` (API JSON).

        With a ``tuned_model_id`` the call is safe to repeat and is retried on 5xx and transport
        errors. If an attempt landed but its answer was lost, the retry gets 409: this method then
        raises :class:`AlreadyExists` (with ``attempts > 1``), exactly as when the id was taken
        before the call; the caller adopts the existing model (GET it and compare). Without an
        id, only 429s and connection failures are retried (a repeat could tune twice).

        Returns:
            the tuning :class:`Operation` (``metadata.tunedModel`` names the new model).
        Raises:
            AlreadyExists: the id is taken (possibly by this call's own earlier attempt).
            InvalidArgument: a field is invalid. NotFound: the base/source model does not exist.
        """
        if tuned_model_id is not None and not tuned_model_id:
            raise ValueError("tuned_model_id must not be empty (pass None to let the service name it)")
        params = {"tunedModelId": _segment(tuned_model_id)} if tuned_model_id else None
        data = self._call(
            "POST",
            self._v("tunedModels"),
            params=params,
            json=dict(model),
            idempotent=params is not None,
        )
        return _parse(Operation, data)

    def get_tuned_model(self, name: str) -> TunedModel:
        """``GET /v1beta/tunedModels/ID``. Raises NotFound when it does not exist."""
        return _parse(TunedModel, self._call("GET", self._v(_tuned_model(name))))

    def list_tuned_models(
        self,
        page_size: int | None = None,
        page_token: str | None = None,
        filter: str | None = None,
    ) -> tuple[list[TunedModel], str | None]:
        """``GET /v1beta/tunedModels``: one page.

        Returns:
            the page's models and the next page token (``None`` on the last page).
        """
        params = _params(pageSize=page_size, pageToken=page_token, filter=filter)
        data = self._call("GET", self._v("tunedModels"), params=params)
        items = [_parse(TunedModel, item) for item in data.get("tunedModels", [])]
        return items, data.get("nextPageToken") or None

    def iter_tuned_models(
        self,
        filter: str | None = None,
        page_size: int = _ALL_PAGES_SIZE,
    ) -> Iterator[TunedModel]:
        """Every tuned model the caller can see (matching ``filter``), page after page."""
        for item in self._pages(self._v("tunedModels"), "tunedModels", page_size=page_size, filter=filter):
            yield _parse(TunedModel, item)

    def update_tuned_model(
        self, name: str, fields: Mapping[str, Any], update_mask: Sequence[str]
    ) -> TunedModel:
        """``PATCH /v1beta/tunedModels/ID?updateMask=a,b``: change the masked fields in place.

        ``fields`` holds the new values under the API's JSON names; only the paths in
        ``update_mask`` are applied by the service.

        Returns:
            the updated model. Raises NotFound, InvalidArgument (immutable or unknown path),
            ValueError (empty mask: the service would then replace every field).
        """
        if isinstance(update_mask, str) or not update_mask:
            raise ValueError("update_mask must be a non-empty sequence of field paths")
        data = self._call(
            "PATCH",
            self._v(_tuned_model(name)),
            params={"updateMask": ",".join(update_mask)},
            json=dict(fields),
        )
        return _parse(TunedModel, data)

    def delete_tuned_model(self, name: str) -> None:
        """``DELETE /v1beta/tunedModels/ID``.

        Raises NotFound when the model does not exist, including when an earlier attempt of this
        call deleted it before a retry (``attempts > 1``); callers deleting treat both as done.
        """
        self._call("DELETE", self._v(_tuned_model(name)))

    # -- operations (under /v1/, as the service documents and the recordings use) -------------

    def get_operation(self, name: str) -> Operation:
        """``GET /v1/tunedModels/ID/operations/OP``: the tuning progress or result."""
        return _parse(Operation, self._call("GET", f"/v1/{_child(name, 'operations')}"))

    def list_operations(self, tuned_model_name: str) -> list[Operation]:
        """``GET /v1/tunedModels/ID/operations``, every page."""
        path = f"/v1/{_tuned_model(tuned_model_name)}/operations"
        return [_parse(Operation, item) for item in self._pages(path, "operations")]

    def cancel_operation(self, name: str) -> None:
        """``POST /v1/tunedModels/ID/operations/OP:cancel`` (body ``{}``); safe to repeat.

        The service leaves a model behind whose state it does not document; read it afterwards.
        """
        self._call("POST", f"/v1/{_child(name, 'operations')}:cancel", json={}, idempotent=True)

    # -- permissions -------------------------------------------------------------------------

    def create_permission(
        self,
        parent: str,
        *,
        grantee_type: GranteeType | str,
        email_address: str | None = None,
        role: Role | str,
    ) -> Permission:
        """``POST /v1beta/tunedModels/ID/permissions``: share the model.

        ``email_address`` is required for USER and GROUP and must be omitted for EVERYONE.
        Not retried on 5xx (a repeat could grant twice). Returns the created permission.
        """
        body: dict[str, Any] = {
            "granteeType": str(GranteeType(grantee_type)),
            "role": str(Role(role)),
        }
        if email_address is not None:
            body["emailAddress"] = email_address
        path = self._v(f"{_tuned_model(parent)}/permissions")
        return _parse(Permission, self._call("POST", path, json=body, idempotent=False))

    def get_permission(self, name: str) -> Permission:
        """``GET /v1beta/tunedModels/ID/permissions/P``."""
        return _parse(Permission, self._call("GET", self._v(_child(name, "permissions"))))

    def list_permissions(self, parent: str) -> list[Permission]:
        """``GET /v1beta/tunedModels/ID/permissions``, every page."""
        path = self._v(f"{_tuned_model(parent)}/permissions")
        return [_parse(Permission, item) for item in self._pages(path, "permissions")]

    def update_permission(self, name: str, role: Role | str) -> Permission:
        """``PATCH /v1beta/tunedModels/ID/permissions/P?updateMask=role``: change the role."""
        data = self._call(
            "PATCH",
            self._v(_child(name, "permissions")),
            params={"updateMask": "role"},
            json={"role": str(Role(role))},
        )
        return _parse(Permission, data)

    def delete_permission(self, name: str) -> None:
        """``DELETE /v1beta/tunedModels/ID/permissions/P``. Raises NotFound when absent."""
        self._call("DELETE", self._v(_child(name, "permissions")))

    def transfer_ownership(self, name: str, email_address: str) -> None:
        """``POST /v1beta/tunedModels/ID:transferOwnership``; the old owner becomes a writer.

        Not retried on 5xx: once it landed, the caller is no longer allowed to repeat it.
        """
        self._call(
            "POST",
            self._v(f"{_tuned_model(name)}:transferOwnership"),
            json={"emailAddress": email_address},
            idempotent=False,
        )

    # -- inference and base models -------------------------------------------------------------

    def generate_content(
        self,
        model: str,
        text: str,
        *,
        generation_config: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> GenerateContentResponse:
        """``POST /v1beta/{model}:generateContent`` with one user text part.

        ``model`` is ``tunedModels/ID``, ``models/ID`` or a bare tuned model id;
        ``generation_config`` is sent as ``generationConfig`` (absent: the model's own sampling
        settings). 429s and refused connections are retried; 5xx and dropped connections only
        with ``retry_server_errors`` (an answer changes nothing on the service, but it may cost).
        """
        if not model.startswith(("models/", "tunedModels/")):
            model = _tuned_model(model)
        _check_path(model)
        body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
        if generation_config:
            body["generationConfig"] = dict(generation_config)
        data = self._call(
            "POST", self._v(f"{model}:generateContent"), json=body, idempotent=retry_server_errors
        )
        return _parse(GenerateContentResponse, data)

    def get_model(self, name: str) -> Model:
        """``GET /v1beta/models/ID`` (``name`` with or without ``models/``)."""
        return _parse(Model, self._call("GET", self._v(_prefixed(name, "models"))))

    def list_models(self) -> list[Model]:
        """``GET /v1beta/models``, every page."""
        return [_parse(Model, item) for item in self._pages(self._v("models"), "models")]

    # -- plumbing ----------------------------------------------------------------------------

    def _v(self, path: str) -> str:
        return f"/{self.api_version}/{path}"

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Send one call with retries; return its JSON object (``{}`` for an empty body).

        ``idempotent`` defaults to True for GET, PATCH and DELETE and False otherwise.
        """
        if idempotent is None:
            idempotent = method in ("GET", "PATCH", "DELETE")

        def send() -> httpx.Response:
            request = self._http.build_request(method, path, params=params, json=json)
            response = self._http.send(request)
            log.debug("gemini: %s %s -> %d", method, request.url.path, response.status_code)
            return response

        response = send_with_retry(
            send,
            policy=self.retry,
            idempotent=idempotent,
            sleep=self._sleep,
            random=self._random,
            clock=self._clock,
        )
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            raise GeminiError(
                f"{method} {response.url.path}: the response is not JSON",
                code=response.status_code,
                status="UNKNOWN",
            ) from None
        if not isinstance(data, dict):
            raise GeminiError(
                f"{method} {response.url.path}: the response is not a JSON object",
                code=response.status_code,
                status="UNKNOWN",
            )
        return data

    def _pages(
        self, path: str, key: str, *, page_size: int = _ALL_PAGES_SIZE, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Every item under ``key`` across pages, following ``nextPageToken``."""
        token: str | None = None
        seen: set[str] = set()
        empty = 0
        for _ in range(_MAX_PAGES):
            query = _params(pageSize=page_size, pageToken=token, **params)
            data = self._call("GET", path, params=query)
            items = data.get(key) or []
            if not isinstance(items, list):
                raise GeminiError(f"GET {path}: {key} is not a list", status="UNKNOWN")
            yield from items
            empty = 0 if items else empty + 1
            next_token = data.get("nextPageToken") or None
            if next_token is None:
                return
            if not isinstance(next_token, str):
                raise GeminiError(f"GET {path}: nextPageToken is not a string", status="UNKNOWN")
            if next_token in seen or empty >= _MAX_EMPTY_PAGES:
                raise GeminiError(f"GET {path}: the service keeps paging without results", status="UNKNOWN")
            seen.add(next_token)
            token = next_token
        raise GeminiError(f"GET {path}: more than {_MAX_PAGES} pages", status="UNKNOWN")


def _params(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != ""}


def _parse(model: type[_M], data: Any) -> _M:
    """Build a response model; a response of the wrong shape becomes a GeminiError."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "<root>"
        raise GeminiError(
            f"unexpected {model.__name__} in the response: {where}: {first['msg']}",
            status="UNKNOWN",
        ) from None


def _segment(value: str) -> str:
    if not _SEGMENT.match(value):
        raise ValueError(f"invalid resource id: {value!r}")
    return value


def _check_path(name: str) -> str:
    for part in name.split("/"):
        _segment(part)
    return name


def _prefixed(name: str, collection: str) -> str:
    """``ID`` or ``collection/ID`` -> ``collection/ID``."""
    name = name.strip().strip("/")
    if not name.startswith(f"{collection}/"):
        name = f"{collection}/{name}"
    parts = name.split("/")
    if len(parts) != 2:
        raise ValueError(f"not a {collection} name: {name!r}")
    return _check_path(name)


def _tuned_model(name: str) -> str:
    return _prefixed(name, "tunedModels")


def _child(name: str, collection: str) -> str:
    """``[tunedModels/]ID/collection/CHILD`` -> ``tunedModels/ID/collection/CHILD``."""
    name = name.strip().strip("/")
    if not name.startswith("tunedModels/"):
        name = f"tunedModels/{name}"
    parts = name.split("/")
    if len(parts) != 4 or parts[2] != collection:
        raise ValueError(f"not a tunedModels/*/{collection}/* name: {name!r}")
    return _check_path(name)
