"""The Vertex AI surface: routes (``/v1`` and ``/v1beta1``), RPC names and the error shape.

RPC names are prefixed ``aiplatform.`` (``aiplatform.CreateTuningJob``, ``aiplatform.GetModel``)
so that a fault aimed at the Vertex AI surface never hits the Gemini API's RPC of the same name.
Errors are google.rpc.Status JSON (``{"error": {code, message, status[, details]}}``; unlike the
Gemini API, Vertex AI leaves out an empty ``details``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from tuned_models_emulator.cloud import Method, Surface, route
from tuned_models_emulator.errors import ApiError, Unauthenticated
from tuned_models_emulator.vertex.service import VertexService
from tuned_models_emulator.wire import json_bytes

SERVICE = "aiplatform.googleapis.com"
_P = r"/(?P<v>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
_ID = r"[^/:]+"

MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or "
    "other "
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid "
    "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
API_KEYS_UNSUPPORTED = (
    "API keys are not supported by this API. Expected OAuth2 access token or other authentication "
    "credentials "
    "that assert a principal. See https://cloud.google.com/docs/authentication"
)


def _error_info(reason: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": SERVICE},
    }


def render_vertex_error(error: ApiError) -> Response:
    """``{"error": {"code", "message", "status"[, "details"]}}`` with the error's HTTP code."""
    body: dict[str, Any] = {"code": error.http_code, "message": error.message, "status": error.status_name}
    if error.details:
        body["details"] = list(error.details)
    return Response(
        json_bytes({"error": body}),
        status_code=error.http_code,
        headers=error.headers or None,
        media_type="application/json; charset=UTF-8",
    )


def _resource(params: Mapping[str, str]) -> str | None:
    if "project" not in params:
        return None
    base = f"projects/{params['project']}/locations/{params['location']}"
    for collection, key in (("tuningJobs", "job"), ("models", "model"), ("endpoints", "endpoint")):
        if key in params:
            return f"{base}/{collection}/{params[key]}"
    return base


def vertex_surface(service: VertexService) -> Surface:
    """The routes of the emulated Vertex AI API over ``service``."""
    s = service
    routes = (
        route(
            rf"{_P}/tuningJobs",
            GET=Method("aiplatform.ListTuningJobs", s.list_tuning_jobs),
            POST=Method("aiplatform.CreateTuningJob", s.create_tuning_job),
        ),
        route(rf"{_P}/tuningJobs/(?P<job>{_ID})", GET=Method("aiplatform.GetTuningJob", s.get_tuning_job)),
        route(
            rf"{_P}/tuningJobs/(?P<job>{_ID}):cancel",
            POST=Method("aiplatform.CancelTuningJob", s.cancel_tuning_job),
        ),
        route(rf"{_P}/models", GET=Method("aiplatform.ListModels", s.list_models)),
        route(
            rf"{_P}/models/(?P<model>{_ID})",
            GET=Method("aiplatform.GetModel", s.get_model),
            PATCH=Method("aiplatform.UpdateModel", s.update_model),
            DELETE=Method("aiplatform.DeleteModel", s.delete_model),
        ),
        route(
            rf"{_P}/models/(?P<model>{_ID}):deleteVersion",
            DELETE=Method("aiplatform.DeleteModelVersion", s.delete_model_version),
        ),
        route(
            rf"{_P}/models/(?P<model>{_ID}):listVersions",
            GET=Method("aiplatform.ListModelVersions", s.list_model_versions),
        ),
        route(
            rf"{_P}/models/(?P<model>{_ID}):generateContent",
            POST=Method("aiplatform.GenerateContent", s.generate_on_model),
        ),
        route(rf"{_P}/endpoints", GET=Method("aiplatform.ListEndpoints", s.list_endpoints)),
        route(
            rf"{_P}/endpoints/(?P<endpoint>{_ID})",
            GET=Method("aiplatform.GetEndpoint", s.get_endpoint),
            DELETE=Method("aiplatform.DeleteEndpoint", s.delete_endpoint),
        ),
        route(
            rf"{_P}/endpoints/(?P<endpoint>{_ID}):undeployModel",
            POST=Method("aiplatform.UndeployModel", s.undeploy_model),
        ),
        route(
            rf"{_P}/endpoints/(?P<endpoint>{_ID}):generateContent",
            POST=Method("aiplatform.GenerateContent", s.generate_content),
        ),
        route(
            rf"{_P}/(?P<collection>tuningJobs|models|endpoints)/(?P<parent>{_ID})/operations/(?P<op>{_ID})",
            GET=Method("aiplatform.GetOperation", s.get_operation),
        ),
    )
    return Surface(
        name="vertex",
        prefixes=("/v1/projects", "/v1beta1"),
        routes=routes,
        render_error=render_vertex_error,
        missing_credentials=lambda rpc: Unauthenticated(
            MISSING_CREDENTIALS, details=[_error_info("CREDENTIALS_MISSING")]
        ),
        invalid_credentials=lambda: Unauthenticated(
            INVALID_CREDENTIALS, details=[_error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED")]
        ),
        api_key_refused=lambda rpc: Unauthenticated(
            API_KEYS_UNSUPPORTED, details=[_error_info("CREDENTIALS_MISSING")]
        ),
        resource_of=_resource,
    )
