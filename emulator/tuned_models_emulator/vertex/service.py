"""The Vertex AI surface: tuning jobs, the Model Registry models and endpoints they produce,
long-running operations, and generation on tuned endpoints, under ``/v1`` and ``/v1beta1``.

:class:`VertexAi` is a :class:`~tuned_models_emulator.routes.Service`: its route table,
authentication, error shape, reset and admin route. The handlers live in :mod:`.jobs` (tuning
jobs) and :mod:`.registry` (models, endpoints, operations, generation), over the helpers of
:mod:`.base`. RPC names are prefixed ``aiplatform.`` (``aiplatform.CreateTuningJob``,
``aiplatform.GetModel``) so that a fault aimed at Vertex AI never hits the Gemini API's RPC of
the same name. Errors are google.rpc.Status JSON without an empty ``details`` (unlike the Gemini
API's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tuned_models_emulator.auth import (
    INVALID_TOKEN,
    INVALID_TOKEN_CHALLENGE,
    Credentials,
    caller_of,
    token_digest,
)
from tuned_models_emulator.errors import ApiError, Unauthenticated
from tuned_models_emulator.records import Caller, CredentialKind
from tuned_models_emulator.routes import AdminHandler, Endpoint, Service
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.store import Tx
from tuned_models_emulator.vertex.jobs import TuningJobs
from tuned_models_emulator.vertex.registry import Registry
from tuned_models_emulator.vertex.tables import SCHEMA, TABLES, VertexTables
from tuned_models_emulator.wire import number

#: The longest an operation may take to report done (seconds): a day, as the longest training step.
MAX_OPERATION_SECONDS = 86_400
_P = r"/(?P<v>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
_ID = r"[^/:]+"
#: The longest an operation may take to report done (seconds): a day, as the longest training step.
MAX_OPERATION_SECONDS = 86_400
_P = r"/(?P<v>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
_ID = r"[^/:]+"
SERVICE = "aiplatform.googleapis.com"

MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or "
    "other "
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
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


class VertexAi(Service):
    """Every rule of the emulated Vertex AI surface, over the emulator's store.

    Credentials: OAuth bearer tokens only (any, unless tokens are configured); a request without
    one, or with an API key, is the real 401.
    """

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        with runtime.store.transaction() as tx:
            tx.create_tables(SCHEMA)
        self.jobs = TuningJobs(runtime)
        self.registry = Registry(runtime)

    def endpoints(self) -> Sequence[Endpoint]:
        """Tuning jobs, models, endpoints and their operations, under ``/v1`` and ``/v1beta1``."""
        job, model, endpoint = {"job": "tuningJob"}, {"model": "model"}, {"endpoint": "endpoint"}
        jobs, a_job = f"{_P}/tuningJobs", rf"{_P}/tuningJobs/(?P<job>{_ID})"
        models, a_model = f"{_P}/models", rf"{_P}/models/(?P<model>{_ID})"
        endpoints, an_endpoint = f"{_P}/endpoints", rf"{_P}/endpoints/(?P<endpoint>{_ID})"
        collection = r"(?P<collection>tuningJobs|models|endpoints)"
        operation = rf"{_P}/{collection}/(?P<parent>{_ID})/operations/(?P<op>{_ID})"
        rpc = "aiplatform.{}".format
        tuning, reg = self.jobs, self.registry
        return (
            Endpoint("GET", jobs, rpc("ListTuningJobs"), tuning.list_tuning_jobs),
            Endpoint("POST", jobs, rpc("CreateTuningJob"), tuning.create_tuning_job),
            Endpoint("GET", a_job, rpc("GetTuningJob"), tuning.get_tuning_job, job),
            Endpoint("POST", f"{a_job}:cancel", rpc("CancelTuningJob"), tuning.cancel_tuning_job, job),
            Endpoint("GET", models, rpc("ListModels"), reg.list_models),
            Endpoint("GET", a_model, rpc("GetModel"), reg.get_model, model),
            Endpoint("PATCH", a_model, rpc("UpdateModel"), reg.update_model, model),
            Endpoint("DELETE", a_model, rpc("DeleteModel"), reg.delete_model, model),
            Endpoint(
                "DELETE",
                f"{a_model}:deleteVersion",
                rpc("DeleteModelVersion"),
                reg.delete_model_version,
                model,
            ),
            Endpoint(
                "GET",
                f"{a_model}:listVersions",
                rpc("ListModelVersions"),
                reg.list_model_versions,
                model,
            ),
            Endpoint(
                "POST",
                f"{a_model}:generateContent",
                rpc("GenerateContent"),
                reg.generate_on_model,
                model,
            ),
            Endpoint("GET", endpoints, rpc("ListEndpoints"), reg.list_endpoints),
            Endpoint("GET", an_endpoint, rpc("GetEndpoint"), reg.get_endpoint, endpoint),
            Endpoint("DELETE", an_endpoint, rpc("DeleteEndpoint"), reg.delete_endpoint, endpoint),
            Endpoint(
                "POST",
                f"{an_endpoint}:undeployModel",
                rpc("UndeployModel"),
                reg.undeploy_model,
                endpoint,
            ),
            Endpoint(
                "POST",
                f"{an_endpoint}:generateContent",
                rpc("GenerateContent"),
                reg.generate_content,
                endpoint,
            ),
            Endpoint("GET", operation, rpc("GetOperation"), reg.get_operation, {"op": "operation"}),
        )

    def authenticate(self, tx: Tx, credentials: Credentials) -> Caller:
        """The caller behind a bearer token; the real 401 without one, for an API key, and for a
        token that :func:`~tuned_models_emulator.auth.token_digest` refuses."""
        if credentials.bearer is None:
            if credentials.api_key:
                raise Unauthenticated(API_KEYS_UNSUPPORTED, details=[_error_info("CREDENTIALS_MISSING")])
            raise Unauthenticated(MISSING_CREDENTIALS, details=[_error_info("CREDENTIALS_MISSING")])
        settings = self.runtime.settings
        digest = token_digest(settings, tx, credentials.bearer)
        if digest is None:
            raise Unauthenticated(
                INVALID_TOKEN,
                details=[_error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED")],
                headers=INVALID_TOKEN_CHALLENGE,
            )
        return caller_of(settings, tx, digest, CredentialKind.TOKEN, credentials.user_project)

    def error_body(self, error: ApiError) -> dict[str, Any]:
        """``{"error": {"code", "message", "status"[, "details"]}}``."""
        body: dict[str, Any] = {
            "code": error.http_code,
            "message": error.message,
            "status": error.status_name,
        }
        if error.details:
            body["details"] = list(error.details)
        return {"error": body}

    def reset(self, tx: Tx) -> None:
        """Forget every job, model, endpoint and operation; operations complete at once again."""
        tx.clear_tables(TABLES)
        VertexTables(tx).set_operation_seconds(None)

    def admin_routes(self) -> Mapping[tuple[str, str], AdminHandler]:
        """``GET``/``PATCH /_emulator/vertex`` ``{"operationSeconds": 2}``: how long long-running
        operations take."""
        return {
            ("GET", "vertex"): lambda tx, body: self.settings_json(tx),
            ("PATCH", "vertex"): self._update_settings,
            ("POST", "vertex"): self._update_settings,
        }

    def _update_settings(self, tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
        seconds = number(body, "operationSeconds", minimum=0, maximum=MAX_OPERATION_SECONDS)
        if seconds is not None:
            VertexTables(tx).set_operation_seconds(float(seconds))
        return self.settings_json(tx)

    def settings_json(self, tx: Tx) -> dict[str, Any]:
        """The admin view of the Vertex settings."""
        return {"operationSeconds": VertexTables(tx).operation_seconds()}
