"""The Google Cloud services served beside the Gemini API: Cloud Storage and Vertex AI.

:func:`cloud_routes` builds them over the Gemini API's backend (one store, one clock, one set of
faults, failure rules, callers and journal) and returns the Starlette routes that serve them,
their admin routes included, to be mounted ahead of the Gemini API's catch-all.

Admin routes (no auth, not journaled); ``POST /_emulator/buckets`` creates the bucket if it is
missing (idempotent):

| route | body | answer |
|---|---|---|
| ``POST /_emulator/buckets`` | ``{"name": "b" or "gs://b", "project": "p"}`` | ``{"bucket": {...}}`` |
| ``GET /_emulator/buckets`` | - | ``{"buckets": ["b", ...]}`` |
| ``GET``/``PATCH /_emulator/vertex`` | ``{"operationSeconds": 2}`` | ``{"operationSeconds": 2}`` |
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tuned_models_emulator.backend import Backend
from tuned_models_emulator.cloud import CloudApi
from tuned_models_emulator.errors import ApiError, InvalidArgument, NotFound, error_body
from tuned_models_emulator.storage import StorageService, storage_surface
from tuned_models_emulator.storage.service import DEFAULT_PROJECT, render_bucket
from tuned_models_emulator.storage.tables import StorageTables
from tuned_models_emulator.vertex import VertexService, vertex_surface
from tuned_models_emulator.wire import json_bytes, normalize_free, parse_json_body

METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json_bytes(body), status_code=status, media_type="application/json")


def cloud_routes(backend: Backend) -> list[Route]:
    """The routes of Cloud Storage and Vertex AI (API and admin) over ``backend``."""
    storage = StorageService(backend)
    vertex = VertexService(backend, storage)
    routes: list[Route] = []

    async def admin(request: Request) -> Response:
        route = request.url.path.removeprefix("/_emulator/").strip("/")
        try:
            raw = await request.body()
            body = normalize_free(parse_json_body(raw)) if raw.strip() else {}
            if not isinstance(body, dict):
                raise InvalidArgument("The body must be a JSON object.")
            with backend.store.transaction() as tx:
                if route == "buckets" and request.method == "POST":
                    name = str(body.get("name") or "").removeprefix("gs://").strip("/")
                    if not name:
                        raise InvalidArgument('Give the bucket "name".')
                    bucket = storage.ensure_bucket(tx, name, str(body.get("project") or DEFAULT_PROJECT))
                    return _json({"bucket": render_bucket(bucket, str(request.base_url).rstrip("/"))})
                if route == "buckets" and request.method == "GET":
                    return _json({"buckets": [b.name for b in StorageTables(tx).buckets()]})
                if route == "vertex" and request.method in ("PATCH", "POST", "PUT"):
                    if "operationSeconds" in body:
                        value = body["operationSeconds"]
                        if isinstance(value, bool) or not isinstance(value, int | float):
                            raise InvalidArgument("operationSeconds must be a number.")
                        vertex.set_operation_seconds(tx, float(value))
                    return _json(vertex.settings_json(tx))
                if route == "vertex" and request.method == "GET":
                    return _json(vertex.settings_json(tx))
            raise NotFound(f"The requested URL {request.url.path} was not found on this server.")
        except ApiError as error:
            return _json(error_body(error), error.http_code)

    for path in ("/_emulator/buckets", "/_emulator/vertex"):
        routes.append(Route(path, admin, methods=METHODS))
    for surface in (storage_surface(storage), vertex_surface(vertex)):
        backend.rpc_names |= surface.rpc_names
        api = CloudApi(backend, surface)

        async def endpoint(request: Request, api: CloudApi = api) -> Response:
            return await api(request)

        for prefix in surface.prefixes:
            routes.append(Route(prefix + "/{rest:path}", endpoint, methods=METHODS))
    return routes
