"""``GeminiClient``: the Gemini API's tuning surface over the shared HTTP core
(:class:`tuned_models.rest.RestClient`).

One method per REST call (tuned models, operations, permissions, generateContent, base models).
Every call has a timeout, is retried according to :mod:`tuned_models.rest.retry` when repeating
it is safe, and raises a :class:`~tuned_models.gemini.errors.GeminiError` subclass carrying the
service's message; retries are logged on ``tuned_models.gemini``. The client is safe to use
from many threads at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Unpack

import httpx

from tuned_models.rest.core import DEFAULT_RETRY, PAGE_SIZE, ClientOptions, ServiceClient, parse

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

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")


class GeminiClient(ServiceClient):
    """A client of the Gemini API (or of an emulator of it) at ``base_url``.

    Args:
        base_url: e.g. ``https://generativelanguage.googleapis.com`` (no version path).
        auth: an ``httpx.Auth`` from :mod:`.auth` (``None`` sends no credentials).
        api_version: the version path of the tuned-model, permission and model calls;
            operations are always read and cancelled under ``/v1/``, as the service documents.
        options: ``transport`` (the embedded emulator's), ``timeout``, ``retry``, ``sleep``,
            ``random``, ``clock``, as for :class:`tuned_models.rest.RestClient` (tests inject them).

    Names are accepted with or without their collection prefix where that is unambiguous:
    ``"my-model"`` and ``"tunedModels/my-model"`` name the same tuned model.
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        *,
        api_version: str = "v1beta",
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(base_url, auth, service="gemini", **options)
        self.base_url = self._core.base_url
        self.api_version = api_version.strip("/")
        self.retry = self._core.retry
        self.timeout = self._core.timeout

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
        data = self._core.call(
            "POST",
            self._v("tunedModels"),
            params=params,
            json=dict(model),
            idempotent=params is not None,
        )
        return parse(Operation, data)

    def get_tuned_model(self, name: str) -> TunedModel:
        """``GET /v1beta/tunedModels/ID``. Raises NotFound when it does not exist."""
        return parse(TunedModel, self._core.call("GET", self._v(_tuned_model(name))))

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
        items, token = self._core.page(
            self._v("tunedModels"), "tunedModels", page_size=page_size, page_token=page_token, filter=filter
        )
        return [parse(TunedModel, item) for item in items], token

    def iter_tuned_models(
        self,
        filter: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[TunedModel]:
        """Every tuned model the caller can see (matching ``filter``), page after page."""
        for item in self._core.pages(
            self._v("tunedModels"), "tunedModels", page_size=page_size, filter=filter
        ):
            yield parse(TunedModel, item)

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
        data = self._core.call(
            "PATCH",
            self._v(_tuned_model(name)),
            params={"updateMask": ",".join(update_mask)},
            json=dict(fields),
        )
        return parse(TunedModel, data)

    def delete_tuned_model(self, name: str) -> None:
        """``DELETE /v1beta/tunedModels/ID``.

        Raises NotFound when the model does not exist, including when an earlier attempt of this
        call deleted it before a retry (``attempts > 1``); callers deleting treat both as done.
        """
        self._core.call("DELETE", self._v(_tuned_model(name)))

    # -- operations (under /v1/, as the service documents and the recordings use) -------------

    def get_operation(self, name: str) -> Operation:
        """``GET /v1/tunedModels/ID/operations/OP``: the tuning progress or result."""
        return parse(Operation, self._core.call("GET", f"/v1/{_child(name, 'operations')}"))

    def list_operations(self, tuned_model_name: str) -> list[Operation]:
        """``GET /v1/tunedModels/ID/operations``, every page."""
        path = f"/v1/{_tuned_model(tuned_model_name)}/operations"
        return [parse(Operation, item) for item in self._core.pages(path, "operations")]

    def cancel_operation(self, name: str) -> None:
        """``POST /v1/tunedModels/ID/operations/OP:cancel`` (body ``{}``); safe to repeat.

        The service leaves a model behind whose state it does not document; read it afterwards.
        """
        self._core.call("POST", f"/v1/{_child(name, 'operations')}:cancel", json={}, idempotent=True)

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
        return parse(Permission, self._core.call("POST", path, json=body, idempotent=False))

    def get_permission(self, name: str) -> Permission:
        """``GET /v1beta/tunedModels/ID/permissions/P``."""
        return parse(Permission, self._core.call("GET", self._v(_child(name, "permissions"))))

    def list_permissions(self, parent: str) -> list[Permission]:
        """``GET /v1beta/tunedModels/ID/permissions``, every page."""
        path = self._v(f"{_tuned_model(parent)}/permissions")
        return [parse(Permission, item) for item in self._core.pages(path, "permissions")]

    def update_permission(self, name: str, role: Role | str) -> Permission:
        """``PATCH /v1beta/tunedModels/ID/permissions/P?updateMask=role``: change the role."""
        data = self._core.call(
            "PATCH",
            self._v(_child(name, "permissions")),
            params={"updateMask": "role"},
            json={"role": str(Role(role))},
        )
        return parse(Permission, data)

    def delete_permission(self, name: str) -> None:
        """``DELETE /v1beta/tunedModels/ID/permissions/P``. Raises NotFound when absent."""
        self._core.call("DELETE", self._v(_child(name, "permissions")))

    def transfer_ownership(self, name: str, email_address: str) -> None:
        """``POST /v1beta/tunedModels/ID:transferOwnership``; the old owner becomes a writer.

        Not retried on 5xx: once it landed, the caller is no longer allowed to repeat it.
        """
        self._core.call(
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
        data = self._core.call(
            "POST", self._v(f"{model}:generateContent"), json=body, idempotent=retry_server_errors
        )
        return parse(GenerateContentResponse, data)

    def get_model(self, name: str) -> Model:
        """``GET /v1beta/models/ID`` (``name`` with or without ``models/``)."""
        return parse(Model, self._core.call("GET", self._v(_prefixed(name, "models"))))

    def list_models(self) -> list[Model]:
        """``GET /v1beta/models``, every page."""
        return [parse(Model, item) for item in self._core.pages(self._v("models"), "models")]

    # -- plumbing ----------------------------------------------------------------------------

    def _v(self, path: str) -> str:
        return f"/{self.api_version}/{path}"


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
