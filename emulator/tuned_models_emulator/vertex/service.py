"""The Vertex AI surface: tuning jobs, the Model Registry models and endpoints they produce,
long-running operations, and generation on tuned endpoints, under ``/v1`` and ``/v1beta1``.

:class:`VertexAi` is a :class:`~tuned_models_emulator.routes.Service`. RPC names are prefixed
``aiplatform.`` (``aiplatform.CreateTuningJob``, ``aiplatform.GetModel``) so that a fault aimed
at Vertex AI never hits the Gemini API's RPC of the same name. Errors are google.rpc.Status JSON
without an empty ``details`` (unlike the Gemini API's).

Every handler first *settles*: jobs whose outcome became final on the emulator's clock (see
:mod:`.records`) get their model version and endpoints created, with the creation time of the
instant the job ended. So a job behaves the same in a server, in another process reading the same
file, after a restart, and with the manual clock.
"""

from __future__ import annotations

import math
import re
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tuned_models_emulator.auth import Credentials, authenticate, token_accepted
from tuned_models_emulator.errors import (
    ApiError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from tuned_models_emulator.faults import forced_failure
from tuned_models_emulator.generation import most_similar, prompt_of
from tuned_models_emulator.paging import page, paged_response
from tuned_models_emulator.projects import project_number
from tuned_models_emulator.records import Caller
from tuned_models_emulator.routes import AdminHandler, Body, Call, Endpoint, Service
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.storage import read_object
from tuned_models_emulator.store import Tx
from tuned_models_emulator.vertex.catalog import (
    ADAPTER_NAMES,
    ADAPTER_SIZE_UNSUPPORTED,
    ADAPTER_SIZES,
    BATCH_SIZE,
    DEFAULT_EPOCHS,
    MAX_CHECKPOINTS,
    MAX_DATASET_BYTES,
    MAX_DISPLAY_NAME,
    MAX_VALIDATION_EXAMPLES,
    MULTI_REGIONS,
    REGION,
    TUNABLE_MODELS,
    TunableModel,
    tunable_model,
)
from tuned_models_emulator.vertex.dataset import DatasetStats, data_stats, read_dataset, tokens
from tuned_models_emulator.vertex.records import (
    Checkpoint,
    DeployedModelRecord,
    EndpointRecord,
    JobRecord,
    JobState,
    ModelRecord,
    OperationKind,
    OperationRecord,
    VersionRecord,
    progress,
)
from tuned_models_emulator.vertex.render import (
    FINISH_STOP,
    enum,
    render_endpoint,
    render_job,
    render_model,
    render_operation,
)
from tuned_models_emulator.vertex.schema import schema
from tuned_models_emulator.vertex.tables import VertexTables
from tuned_models_emulator.wire import format_timestamp, int32_value, normalize

NS = 1_000_000_000
LIST_DEFAULT = 100
LIST_MAX = 1000
MAX_LABELS = 64
MAX_LABEL_CHARS = 64
EMPTY_CONTENTS = (
    "Unable to submit request because at least one contents field is required. Learn more: "
    "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini"
)
_GS_URI = re.compile(r"gs://(?P<bucket>[^/]+)/(?P<object>.+)")
_MODEL_NAME = re.compile(
    r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/models/(?P<model>[^/@:]+)(?:@(?P<ref>[^/:]+))?"
)
_FILTER_TERM = re.compile(
    r'\s*(?P<field>[A-Za-z_][A-Za-z0-9_.\-]*)\s*(?P<op>!=|=|:)\s*(?P<value>"[^"]*"|[^\s"()]+)\s*'
)
_BASE64URL = string.ascii_letters + string.digits + "-_"
_P = r"/(?P<v>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
_ID = r"[^/:]+"
SERVICE = "aiplatform.googleapis.com"

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


def _us(ns: int) -> int:
    return ns - ns % 1000


# --------------------------------------------------------------------------- small rules


def _label_char_ok(char: str, *, first: bool) -> bool:
    if char.islower() or (char.isalpha() and not char.isupper()):
        return True
    return not first and (char.isdigit() or char in "_-")


def check_labels(labels: Any, field_name: str = "labels") -> dict[str, str]:
    """The TuningJob proto's label rules: at most 64 labels; keys of 1-64 characters starting with a
    lowercase letter, values of up to 64; lowercase letters (international ones too), digits, ``_``
    and ``-``."""
    if labels is None:
        return {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise InvalidArgument(f"{field_name} must be a map of strings to strings.")
    if len(labels) > MAX_LABELS:
        raise InvalidArgument(f"{field_name} has {len(labels)} entries; at most {MAX_LABELS} are allowed.")
    for key, value in labels.items():
        if (
            not key
            or len(key) > MAX_LABEL_CHARS
            or not all(_label_char_ok(c, first=i == 0) for i, c in enumerate(key))
        ):
            raise InvalidArgument(
                f"Label key {key!r} violates format constraints. The key must start with a lowercase "
                "character, "
                "can only contain lowercase letters, numeric characters, underscores and dashes, and can "
                "be at most "
                f"{MAX_LABEL_CHARS} characters long. International characters are allowed."
            )
        if len(value) > MAX_LABEL_CHARS or not all(_label_char_ok(c, first=False) for c in value):
            raise InvalidArgument(
                f"Label value {value!r} of key {key!r} violates format constraints. The value can only "
                "contain "
                f"lowercase letters, numeric characters, underscores and dashes, and can be at most "
                f"{MAX_LABEL_CHARS} characters long. International characters are allowed."
            )
    return dict(labels)


@dataclass(frozen=True, slots=True)
class FilterTerm:
    """One ``field op value`` of a list filter (``labels.team=ml``, ``state!=JOB_STATE_FAILED``)."""

    field: str
    op: str
    value: str


def parse_filter(text: str | None, fields: Iterable[str]) -> list[FilterTerm]:
    """The terms of an AIP-160 filter joined by ``AND`` (or spaces); ``fields`` are the plain fields
    the collection supports besides ``labels.KEY``. Raises 400 for anything else."""
    terms: list[FilterTerm] = []
    rest = (text or "").strip()
    allowed = set(fields)
    while rest:
        found = _FILTER_TERM.match(rest)
        if found is None:
            raise InvalidArgument(f"Invalid filter: {text!r} (expected terms like labels.key=value).")
        name = found["field"]
        plain = re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), name)
        if not plain.startswith("labels.") and plain not in allowed:
            supported = ", ".join(sorted(allowed | {"labels.<key>"}))
            raise InvalidArgument(f"Unsupported filter field {name!r}; supported: {supported}.")
        value = found["value"].strip('"')
        terms.append(FilterTerm(plain, found["op"], value))
        rest = rest[found.end() :]
        keyword = re.match(r"(AND)\s+|(OR|NOT)\b", rest)
        if keyword is not None:
            if keyword[2]:
                raise InvalidArgument(f"Invalid filter: {keyword[2]} is not supported by the emulator.")
            rest = rest[keyword.end() :]
    return terms


def matches(terms: list[FilterTerm], values: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Whether a resource with plain field ``values`` and ``labels`` passes every term."""
    for term in terms:
        if term.field.startswith("labels."):
            key = term.field.removeprefix("labels.")
            actual = labels.get(key)
            if term.op == ":" and term.value == "*":
                ok = actual is not None
            elif term.op == "!=":
                ok = actual != term.value
            else:
                ok = actual == term.value
        else:
            actual = values.get(term.field)
            ok = actual != term.value if term.op == "!=" else actual == term.value
        if not ok:
            return False
    return True


def checkpoint_epochs(epochs: int, *, last_only: bool) -> list[int]:
    """The epochs a job exports a checkpoint at: each epoch up to 10 epochs, else 10 evenly spaced
    ones ending with the last (Google's checkpoint documentation); only the last with
    ``exportLastCheckpointOnly``."""
    if last_only:
        return [epochs]
    if epochs <= MAX_CHECKPOINTS:
        return list(range(1, epochs + 1))
    return sorted({round(i * epochs / MAX_CHECKPOINTS) for i in range(1, MAX_CHECKPOINTS + 1)})


# --------------------------------------------------------------------------- the service


class VertexAi(Service):
    """Every rule of the emulated Vertex AI surface, over the emulator's store.

    Credentials: OAuth bearer tokens only (any, unless tokens are configured); a request without
    one, or with an API key, is the real 401.
    """

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        with runtime.store.transaction() as tx:
            VertexTables.create(tx)

    def endpoints(self) -> Sequence[Endpoint]:
        """Tuning jobs, models, endpoints and their operations, under ``/v1`` and ``/v1beta1``."""
        job, model, endpoint = {"job": "tuningJob"}, {"model": "model"}, {"endpoint": "endpoint"}
        jobs, a_job = f"{_P}/tuningJobs", rf"{_P}/tuningJobs/(?P<job>{_ID})"
        models, a_model = f"{_P}/models", rf"{_P}/models/(?P<model>{_ID})"
        endpoints, an_endpoint = f"{_P}/endpoints", rf"{_P}/endpoints/(?P<endpoint>{_ID})"
        collection = r"(?P<collection>tuningJobs|models|endpoints)"
        operation = rf"{_P}/{collection}/(?P<parent>{_ID})/operations/(?P<op>{_ID})"
        rpc = "aiplatform.{}".format
        return (
            Endpoint("GET", jobs, rpc("ListTuningJobs"), self.list_tuning_jobs),
            Endpoint("POST", jobs, rpc("CreateTuningJob"), self.create_tuning_job),
            Endpoint("GET", a_job, rpc("GetTuningJob"), self.get_tuning_job, job),
            Endpoint("POST", f"{a_job}:cancel", rpc("CancelTuningJob"), self.cancel_tuning_job, job),
            Endpoint("GET", models, rpc("ListModels"), self.list_models),
            Endpoint("GET", a_model, rpc("GetModel"), self.get_model, model),
            Endpoint("PATCH", a_model, rpc("UpdateModel"), self.update_model, model),
            Endpoint("DELETE", a_model, rpc("DeleteModel"), self.delete_model, model),
            Endpoint(
                "DELETE",
                f"{a_model}:deleteVersion",
                rpc("DeleteModelVersion"),
                self.delete_model_version,
                model,
            ),
            Endpoint(
                "GET", f"{a_model}:listVersions", rpc("ListModelVersions"), self.list_model_versions, model
            ),
            Endpoint(
                "POST", f"{a_model}:generateContent", rpc("GenerateContent"), self.generate_on_model, model
            ),
            Endpoint("GET", endpoints, rpc("ListEndpoints"), self.list_endpoints),
            Endpoint("GET", an_endpoint, rpc("GetEndpoint"), self.get_endpoint, endpoint),
            Endpoint("DELETE", an_endpoint, rpc("DeleteEndpoint"), self.delete_endpoint, endpoint),
            Endpoint(
                "POST", f"{an_endpoint}:undeployModel", rpc("UndeployModel"), self.undeploy_model, endpoint
            ),
            Endpoint(
                "POST",
                f"{an_endpoint}:generateContent",
                rpc("GenerateContent"),
                self.generate_content,
                endpoint,
            ),
            Endpoint("GET", operation, rpc("GetOperation"), self.get_operation, {"op": "operation"}),
        )

    def authenticate(self, tx: Tx, credentials: Credentials) -> Caller:
        """The caller behind a bearer token; the real 401 without one, for an API key, and for a
        token that is not accepted."""
        if credentials.bearer is None:
            if credentials.api_key:
                raise Unauthenticated(API_KEYS_UNSUPPORTED, details=[_error_info("CREDENTIALS_MISSING")])
            raise Unauthenticated(MISSING_CREDENTIALS, details=[_error_info("CREDENTIALS_MISSING")])
        if not token_accepted(self.runtime.settings, credentials.bearer):
            raise Unauthenticated(INVALID_CREDENTIALS, details=[_error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED")])
        return authenticate(
            self.runtime.settings, tx, Credentials(None, credentials.bearer, credentials.user_project)
        )

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
        VertexTables.clear(tx)
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
        if "operationSeconds" in body:
            value = body["operationSeconds"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidArgument("operationSeconds must be a number.")
            self.set_operation_seconds(tx, float(value))
        return self.settings_json(tx)

    # ---------------------------------------------------------------- helpers
    def now(self, tx: Tx) -> int:
        """The emulator's clock, at microsecond precision (what Vertex AI timestamps carry)."""
        return _us(self.runtime.now_ns(tx))

    def _new_id(self, tx: Tx) -> str:
        rng = self.runtime.rng(tx)
        return str(rng.randrange(1, 10)) + "".join(str(rng.randrange(10)) for _ in range(18))

    def _parent(self, call: Call) -> tuple[str, str]:
        """(project number, location) of the request path; 400 when either is malformed."""
        project = call.params["project"]
        number = project_number(project)
        if number is None:
            raise InvalidArgument(
                f"Invalid resource name: project {project!r} is not a project id or number."
            )
        location = call.params["location"]
        if not (REGION.fullmatch(location) or location in MULTI_REGIONS or location == "global"):
            raise InvalidArgument(f"Location {location!r} is not supported.")
        return number, location

    def settle(self, tx: Tx) -> None:
        """Create what jobs that ended successfully produce (once each)."""
        tables = VertexTables(tx)
        now = self.now(tx)
        for job in tables.unsettled_jobs(now):
            if progress(job, now).state is JobState.SUCCEEDED:
                self._materialize(tables, job, job.settle_ns)
            tables.mark_settled(job.id)

    def _materialize(self, tables: VertexTables, job: JobRecord, end_ns: int) -> None:
        model = tables.model(job.model_id)
        first = model is None or not tables.versions(job.model_id)
        if model is None:
            model = ModelRecord(
                job.model_id,
                job.project,
                job.location,
                job.display_name,
                job.description,
                dict(job.labels),
                end_ns,
                end_ns,
                job.model_version + 1,
            )
        else:
            model = replace(
                model, update_ns=end_ns, next_version=max(model.next_version, job.model_version + 1)
            )
        tables.put_model(model)
        tables.put_version(
            VersionRecord(
                model_id=job.model_id,
                version=job.model_version,
                job_id=job.id,
                base_model=job.base_model,
                create_ns=end_ns,
                update_ns=end_ns,
                aliases=("default",) if first else (),
                checkpoints=()
                if job.export_last_only
                else tuple((c.checkpoint_id, c.epoch, c.step) for c in job.checkpoints),
                default_checkpoint_id=job.checkpoints[-1].checkpoint_id,
            )
        )
        last = job.checkpoints[-1].checkpoint_id
        for checkpoint in job.checkpoints:
            suffix = "" if checkpoint.checkpoint_id == last else f"-checkpoint-{checkpoint.checkpoint_id}"
            deployed = DeployedModelRecord(
                checkpoint.deployed_model_id,
                model.name,
                job.model_version,
                checkpoint.checkpoint_id,
                job.display_name + suffix,
                end_ns,
            )
            tables.put_endpoint(
                EndpointRecord(
                    id=checkpoint.endpoint_id,
                    project=job.project,
                    location=job.endpoint_location,
                    display_name=job.display_name + suffix,
                    description="",
                    labels=dict(job.labels),
                    create_ns=end_ns,
                    update_ns=end_ns,
                    deployed=(deployed,),
                    traffic={deployed.id: 100},
                )
            )

    def _operation(self, tx: Tx, parent_name: str, kind: OperationKind) -> OperationRecord:
        now = self.now(tx)
        tables = VertexTables(tx)
        done = now + round(tables.operation_seconds() * NS)
        op = OperationRecord(f"{parent_name}/operations/{self._new_id(tx)}", kind, now, done)
        tables.put_operation(op)
        return op

    # ---------------------------------------------------------------- tuning jobs
    def _job(self, tx: Tx, call: Call) -> JobRecord:
        project, location = self._parent(call)
        job = VertexTables(tx).job(call.params["job"])
        if job is None or job.project != project or job.location != location:
            name = f"projects/{call.params['project']}/locations/{location}/tuningJobs/{call.params['job']}"
            raise NotFound(f"TuningJob {name} not found.")
        return job

    def create_tuning_job(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """CreateTuningJob: validate as the service does, store PENDING, return the TuningJob."""
        self.settle(tx)
        project, location = self._parent(call)
        version = call.version
        body = normalize("TuningJob", call.body, "tuning_job", schema(version))
        for unsupported in (
            "distillationSpec",
            "partnerModelTuningSpec",
            "veoTuningSpec",
            "veoLoraTuningSpec",
        ):
            if unsupported in body:
                raise InvalidArgument(
                    f"The emulator supports supervised tuning only: {unsupported} is not emulated."
                )
        if "customBaseModel" in body or "outputUri" in body:
            raise InvalidArgument(
                "custom_base_model and output_uri apply to open models, which are not emulated."
            )
        if not (REGION.fullmatch(location)):
            raise InvalidArgument(
                f"Tuning jobs run in a region (such as us-central1), not in location {location!r}."
            )
        tables = VertexTables(tx)
        base, pre_tuned, parent_model = self._source(tables, body, project, location)
        if base.regions is not None and location not in base.regions:
            raise InvalidArgument(
                f"Base model {base.id} can only be tuned in {' and '.join(base.regions)}, not in {location}."
            )
        spec = body.get("supervisedTuningSpec")
        if spec is None:
            raise InvalidArgument("supervised_tuning_spec is required.")
        hyper = spec.get("hyperParameters") or {}
        for oss_only in ("learningRate", "batchSize"):
            if oss_only in hyper:
                name = "learning_rate" if oss_only == "learningRate" else "batch_size"
                raise InvalidArgument(
                    f"hyper_parameters.{name} is only supported for open models, not for {base.id}."
                )
        if spec.get("tuningMode") not in (None, "TUNING_MODE_UNSPECIFIED"):
            raise InvalidArgument(f"tuning_mode is only supported for open models, not for {base.id}.")
        epochs = int(hyper.get("epochCount") or 0) or DEFAULT_EPOCHS
        if epochs < 1:
            raise InvalidArgument("hyper_parameters.epoch_count must be positive.")
        multiplier = float(hyper.get("learningRateMultiplier", 1.0))
        if not multiplier > 0:
            raise InvalidArgument("hyper_parameters.learning_rate_multiplier must be positive.")
        adapter_name = hyper.get("adapterSize") or "ADAPTER_SIZE_UNSPECIFIED"
        if adapter_name == "ADAPTER_SIZE_UNSPECIFIED":
            adapter_name = ADAPTER_NAMES[base.default_adapter_size]
        if ADAPTER_SIZES[adapter_name] not in base.adapter_sizes:
            raise InvalidArgument(ADAPTER_SIZE_UNSUPPORTED)
        display_name = str(body.get("tunedModelDisplayName") or "")
        if len(display_name) > MAX_DISPLAY_NAME:
            raise InvalidArgument(
                f"tuned_model_display_name is {len(display_name)} characters long; at most "
                f"{MAX_DISPLAY_NAME} are allowed."
            )
        labels = check_labels(body.get("labels"))
        encryption = body.get("encryptionSpec")
        if encryption is not None and not encryption.get("kmsKeyName"):
            raise InvalidArgument("encryption_spec.kms_key_name is required.")
        if encryption is not None and base.serving:
            raise InvalidArgument(f"Customer-managed encryption keys are not supported for {base.id}.")

        training_uri = spec.get("trainingDatasetUri")
        if not training_uri:
            raise InvalidArgument("supervised_tuning_spec.training_dataset_uri is required.")
        training = self._dataset(tx, "training_dataset_uri", str(training_uri), keep_pairs=True)
        validation_uri = spec.get("validationDatasetUri") or None
        if validation_uri is not None:
            validation = self._dataset(tx, "validation_dataset_uri", str(validation_uri), keep_pairs=False)
            count = validation.example_count
            if count > MAX_VALIDATION_EXAMPLES or (count > 1000 and count > 0.3 * training.example_count):
                raise InvalidArgument(
                    f"The validation dataset has {count} examples; at most {MAX_VALIDATION_EXAMPLES} are "
                    "allowed, "
                    "and at most 30% of the training examples when it has more than 1000."
                )

        now = self.now(tx)
        step_ns = max(1000, _us(round(self.runtime.step_seconds(tx) * NS)))
        steps_per_epoch = math.ceil(len(training.input_tokens) / BATCH_SIZE)
        total_steps = epochs * steps_per_epoch
        job_id = self._new_id(tx)
        rng = self.runtime.rng(tx)
        if not display_name:
            display_name = (
                parent_model.display_name
                if parent_model is not None
                else (f"{base.id}-{uuid.UUID(int=rng.getrandbits(128), version=4)}")
            )
        if parent_model is not None and display_name == parent_model.display_name:
            model_id, model_version = parent_model.id, parent_model.next_version
            tables.put_model(replace(parent_model, next_version=model_version + 1))
            new_model = False
        else:
            model_id, model_version, new_model = self._new_id(tx), 1, True
        checkpoints = tuple(
            Checkpoint(str(index), epoch, epoch * steps_per_epoch, self._new_id(tx), self._new_id(tx))
            for index, epoch in enumerate(
                checkpoint_epochs(epochs, last_only=bool(spec.get("exportLastCheckpointOnly"))), start=1
            )
        )
        fail_at, fail_message = forced_failure(
            tx, job_id, display_name, total_steps, also=[f"{k}={v}" for k, v in labels.items()]
        )
        job = JobRecord(
            id=job_id,
            project=project,
            location=location,
            create_ns=now,
            start_ns=now + step_ns,
            step_ns=step_ns,
            total_steps=total_steps,
            base_model=base.id,
            display_name=display_name,
            description=str(body.get("description") or ""),
            labels=labels,
            training_uri=str(training_uri),
            validation_uri=validation_uri,
            epoch_count=epochs,
            learning_rate_multiplier=multiplier,
            adapter_size=adapter_name,
            export_last_only=bool(spec.get("exportLastCheckpointOnly")),
            model_id=model_id,
            model_version=model_version,
            new_model=new_model,
            endpoint_location=base.endpoint_location(location),
            checkpoints=checkpoints,
            stats=data_stats(training, total_steps),
            pre_tuned=pre_tuned,
            encryption_spec=dict(encryption) if encryption else None,
            service_account=body.get("serviceAccount") or None,
            evaluation_config=spec.get("evaluationConfig"),
            fail_at_step=fail_at,
            fail_message=fail_message,
        )
        tables.insert_job(job, training.pairs)
        return render_job(job, progress(job, now), enum_int=call.enum_int)

    def _source(
        self, tables: VertexTables, body: Mapping[str, Any], project: str, location: str
    ) -> tuple[TunableModel, dict[str, str] | None, ModelRecord | None]:
        """(base model, preTunedModel echo, parent model) of a create request's oneof source_model."""
        base_name = body.get("baseModel")
        pre = body.get("preTunedModel")
        if base_name and pre:
            raise InvalidArgument(
                "Only one of base_model and pre_tuned_model may be set (oneof source_model)."
            )
        if not base_name and not pre:
            raise InvalidArgument("base_model or pre_tuned_model is required.")
        if base_name:
            base = tunable_model(str(base_name))
            if base is None:
                supported = ", ".join(m.id for m in TUNABLE_MODELS)
                raise InvalidArgument(
                    f"Base model {base_name} is not supported for supervised tuning. Supported base models: "
                    f"{supported}."
                )
            return base, None, None
        assert pre is not None
        tuned_name = str(pre.get("tunedModelName") or "")
        found = _MODEL_NAME.fullmatch(tuned_name)
        if found is None:
            raise InvalidArgument(
                "pre_tuned_model.tuned_model_name must be "
                "projects/{project}/locations/{location}/models/{model}"
                f"[@version], got {tuned_name!r}."
            )
        model = tables.model(found["model"])
        if (
            model is None
            or project_number(found["project"]) != model.project
            or found["location"] != model.location
        ):
            raise NotFound(f"Model {tuned_name} not found.")
        if model.project != project or model.location != location:
            raise InvalidArgument(f"The pre-tuned model must be in projects/{project}/locations/{location}.")
        version = self._version(tables, model, found["ref"], tuned_name)
        checkpoint = pre.get("checkpointId")
        if checkpoint and checkpoint not in {c[0] for c in version.checkpoints} | {
            version.default_checkpoint_id
        }:
            raise InvalidArgument(f"Checkpoint {checkpoint} does not exist in {tuned_name}.")
        base = tunable_model(version.base_model)
        assert base is not None
        echo = {"tunedModelName": tuned_name}
        if checkpoint:
            echo["checkpointId"] = str(checkpoint)
        return base, echo, model

    def _dataset(self, tx: Tx, field_name: str, uri: str, *, keep_pairs: bool) -> DatasetStats:
        found = _GS_URI.fullmatch(uri)
        if found is None:
            raise InvalidArgument(
                f"supervised_tuning_spec.{field_name} must be a Cloud Storage URI "
                f"(gs://bucket/object.jsonl), got {uri!r}."
            )
        stored = read_object(tx, found["bucket"], found["object"])
        if stored is None:
            raise InvalidArgument(f"supervised_tuning_spec.{field_name}: {uri} does not exist.")
        obj, chunks = stored
        if obj.size > MAX_DATASET_BYTES:
            raise InvalidArgument(f"The dataset {uri} is {obj.size} bytes; the limit is 1 GB.")
        return read_dataset(uri, chunks, keep_pairs=keep_pairs)

    def get_tuning_job(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetTuningJob."""
        self.settle(tx)
        job = self._job(tx, call)
        return render_job(job, progress(job, self.now(tx)), enum_int=call.enum_int)

    def list_tuning_jobs(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListTuningJobs: newest first; ``filter`` on ``labels.KEY`` and ``state``; paged."""
        self.settle(tx)
        project, location = self._parent(call)
        terms = parse_filter(call.query.get("filter"), ("state",))
        now = self.now(tx)
        rendered = []
        for job in VertexTables(tx).jobs(project, location):
            prog = progress(job, now)
            if matches(terms, {"state": str(prog.state)}, job.labels):
                rendered.append(render_job(job, prog, enum_int=call.enum_int))
        return self._page("tuningJobs", rendered, call, project, location)

    def _page(self, key: str, items: list[Any], call: Call, project: str, location: str) -> Body:
        fingerprint = f"{key}:{project}:{location}:{call.query.get('filter') or ''}"
        chunk, token = page(
            items, call.query, default=LIST_DEFAULT, maximum=LIST_MAX, fingerprint=fingerprint
        )
        return paged_response(key, chunk, token)

    def cancel_tuning_job(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """CancelTuningJob: a pending or running job becomes CANCELLING, then CANCELLED (error code 1);
        a cancelling one is left alone; an ended one is 400 FAILED_PRECONDITION."""
        self.settle(tx)
        normalize("CancelTuningJobRequest", call.body, "", schema(call.version))
        job = self._job(tx, call)
        now = self.now(tx)
        state = progress(job, now).state
        if state in (JobState.PENDING, JobState.RUNNING):
            VertexTables(tx).update_job(replace(job, cancel_ns=now))
        elif state is not JobState.CANCELLING:
            raise FailedPrecondition(f"Tuning job {job.name} is in state {state} and cannot be cancelled.")
        return {}

    # ---------------------------------------------------------------- models
    def _model(self, tx: Tx, call: Call) -> tuple[ModelRecord, str | None, str]:
        """(model, version reference after ``@`` or None, the name as requested)."""
        project, location = self._parent(call)
        raw = call.params["model"]
        model_id, _, ref = raw.partition("@")
        name = f"projects/{call.params['project']}/locations/{location}/models/{raw}"
        model = VertexTables(tx).model(model_id)
        if model is None or model.project != project or model.location != location:
            raise NotFound(f"Model {name} not found.")
        return model, (ref or None), name

    @staticmethod
    def _version(tables: VertexTables, model: ModelRecord, ref: str | None, name: str) -> VersionRecord:
        """The version ``ref`` (a number or an alias; None or ``-`` = the default version)."""
        versions = tables.versions(model.id)
        if ref is None or ref == "-":
            chosen = next((v for v in versions if "default" in v.aliases), versions[-1] if versions else None)
        elif ref.isdigit():
            chosen = next((v for v in versions if v.version == int(ref)), None)
        else:
            chosen = next((v for v in versions if ref in v.aliases), None)
        if chosen is None:
            raise NotFound(f"Model {name} not found.")
        return chosen

    def _deployments(self, tx: Tx, model: ModelRecord) -> list[tuple[EndpointRecord, DeployedModelRecord]]:
        out = []
        for endpoint in VertexTables(tx).endpoints(model.project):
            for deployed in endpoint.deployed:
                if deployed.model_name == model.name:
                    out.append((endpoint, deployed))
        return out

    def _render_model(
        self, tx: Tx, model: ModelRecord, version: VersionRecord, *, enum_int: bool = False
    ) -> dict[str, Any]:
        deployed = [
            (endpoint, d.id) for endpoint, d in self._deployments(tx, model) if d.version == version.version
        ]
        return render_model(model, version, deployed, enum_int=enum_int)

    def get_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetModel: the default version, or ``@version`` / ``@alias``."""
        self.settle(tx)
        model, ref, name = self._model(tx, call)
        version = self._version(VertexTables(tx), model, ref, name)
        return self._render_model(tx, model, version, enum_int=call.enum_int)

    def list_models(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListModels: each model's default version, newest first; ``filter`` on ``labels.KEY``
        and ``display_name``; paged."""
        self.settle(tx)
        project, location = self._parent(call)
        terms = parse_filter(call.query.get("filter"), ("display_name",))
        tables = VertexTables(tx)
        rendered = []
        for model in tables.models(project, location):
            if not matches(terms, {"display_name": model.display_name}, model.labels):
                continue
            version = self._version(tables, model, None, model.name)
            rendered.append(self._render_model(tx, model, version, enum_int=call.enum_int))
        return self._page("models", rendered, call, project, location)

    def list_model_versions(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListModelVersions: every version of a model, oldest first; paged."""
        self.settle(tx)
        model, _, _ = self._model(tx, call)
        versions = VertexTables(tx).versions(model.id)
        rendered = [self._render_model(tx, model, v, enum_int=call.enum_int) for v in versions]
        return self._page("models", rendered, call, model.project, f"{model.location}/{model.id}")

    def update_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """UpdateModel (PATCH with ``updateMask``): on the model, ``displayName``, ``description``
        and ``labels``; on a version (``@N``), ``versionDescription`` and ``labels``. Returns the
        Model."""
        self.settle(tx)
        model, ref, name = self._model(tx, call)
        tables = VertexTables(tx)
        version = self._version(tables, model, ref, name)
        body = normalize("Model", call.body, "model", schema(call.version))
        mask = [p.strip() for p in (call.query.get("updateMask") or "").split(",") if p.strip()]
        if not mask:
            raise InvalidArgument("update_mask is required.")
        version_level = ref is not None and ref != "-"
        model_fields = {"displayName": "display_name", "description": "description", "labels": "labels"}
        version_fields = {"versionDescription": "version_description", "labels": "labels"}
        changes: dict[str, Any] = {}
        version_changes: dict[str, Any] = {}
        for path in mask:
            field_name = re.sub(r"_([a-z])", lambda m: m[1].upper(), path)
            if field_name not in model_fields and field_name not in version_fields:
                raise InvalidArgument(
                    f"Invalid update mask path {path!r}: the fields that can be updated are display_name, "
                    "description, labels and version_description."
                )
            allowed = version_fields if version_level else model_fields
            if field_name not in allowed:
                takes = (
                    "a model version takes version_description and labels."
                    if version_level
                    else "a model takes display_name, description and labels (version_description needs @N)."
                )
                raise FailedPrecondition(f"Field {path!r} cannot be updated on {name}: {takes}")
            value = body.get(field_name)
            if field_name == "displayName":
                text = str(value or "")
                if not text:
                    raise InvalidArgument("model.display_name is required.")
                if len(text) > MAX_DISPLAY_NAME:
                    raise InvalidArgument(
                        f"model.display_name can be at most {MAX_DISPLAY_NAME} characters long."
                    )
                changes["display_name"] = text
            elif field_name == "description":
                changes["description"] = str(value or "")
            elif field_name == "versionDescription":
                version_changes["version_description"] = str(value or "")
            else:
                labels = check_labels(value, "model.labels")
                (version_changes if version_level else changes)["labels"] = labels
        now = self.now(tx)
        if changes:
            model = replace(model, **changes, update_ns=now)
            tables.put_model(model)
        if version_changes:
            version = replace(version, **version_changes, update_ns=now)
            tables.put_version(version)
        return self._render_model(tx, model, version, enum_int=call.enum_int)

    def delete_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DeleteModel (long-running): every version goes; refused while any is deployed."""
        self.settle(tx)
        model, _, name = self._model(tx, call)
        deployments = self._deployments(tx, model)
        if deployments:
            where = ", ".join(sorted({e.name for e, _ in deployments}))
            raise FailedPrecondition(
                f"Model {name} is deployed or being deployed at the following endpoints: {where}. "
                "Undeploy the model from them before deleting it."
            )
        VertexTables(tx).delete_model(model.id)
        op = self._operation(tx, model.name, OperationKind.DELETE)
        return render_operation(op, call.version, self.now(tx))

    def delete_model_version(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DeleteModelVersion (long-running): ``models/{m}@{version}``; not the only version, not
        the one holding the ``default`` alias, not a deployed one."""
        self.settle(tx)
        model, ref, name = self._model(tx, call)
        if ref is None or not ref.isdigit():
            raise InvalidArgument(f"The name {name} must specify a version id: models/{{model}}@{{version}}.")
        tables = VertexTables(tx)
        version = self._version(tables, model, ref, name)
        if len(tables.versions(model.id)) == 1:
            raise FailedPrecondition(
                "Deleting the only version in the Model is not allowed. Use DeleteModel for deleting the "
                "Model instead."
            )
        if "default" in version.aliases:
            raise FailedPrecondition(
                f"Version {version.version} of {model.name} holds the default alias; move the alias before "
                "deleting it."
            )
        deployed = [e.name for e, d in self._deployments(tx, model) if d.version == version.version]
        if deployed:
            raise FailedPrecondition(
                f"Model {name} is deployed or being deployed at the following endpoints: "
                f"{', '.join(deployed)}."
            )
        tables.delete_version(model.id, version.version)
        op = self._operation(tx, model.name, OperationKind.DELETE)
        return render_operation(op, call.version, self.now(tx))

    def generate_on_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """generateContent on a Model Registry name: the service's 400 (use the endpoint)."""
        params = call.params
        name = f"projects/{params['project']}/locations/{params['location']}/models/{params['model']}"
        raise InvalidArgument(
            f"The Model name {name} is malformed and it should be in form of "
            "projects/{project}/locations/{location}/publishers/google/models/{model}"
        )

    # ---------------------------------------------------------------- endpoints
    def _endpoint(self, tx: Tx, call: Call) -> EndpointRecord:
        project, location = self._parent(call)
        endpoint = VertexTables(tx).endpoint(call.params["endpoint"])
        if endpoint is None or endpoint.project != project or endpoint.location != location:
            name = (
                f"projects/{call.params['project']}/locations/{location}/endpoints/{call.params['endpoint']}"
            )
            raise NotFound(f"Endpoint {name} not found.")
        return endpoint

    def get_endpoint(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetEndpoint."""
        self.settle(tx)
        endpoint = self._endpoint(tx, call)
        return render_endpoint(endpoint)

    def list_endpoints(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListEndpoints: newest first; ``filter`` on ``labels.KEY`` and ``display_name``; paged."""
        self.settle(tx)
        project, location = self._parent(call)
        terms = parse_filter(call.query.get("filter"), ("display_name",))
        rendered = [
            render_endpoint(e)
            for e in VertexTables(tx).endpoints(project, location)
            if matches(terms, {"display_name": e.display_name}, e.labels)
        ]
        return self._page("endpoints", rendered, call, project, location)

    def undeploy_model(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """UndeployModel (long-running): a deployed model leaves the endpoint if it carries no
        traffic, the request's ``trafficSplit`` takes its traffic away, or it is the last one."""
        self.settle(tx)
        endpoint = self._endpoint(tx, call)
        body = normalize("UndeployModelRequest", call.body, "", schema(call.version))
        deployed_id = str(body.get("deployedModelId") or "")
        if not deployed_id:
            raise InvalidArgument("deployed_model_id is required.")
        target = next((d for d in endpoint.deployed if d.id == deployed_id), None)
        if target is None:
            raise NotFound(f"DeployedModel {deployed_id} not found on Endpoint {endpoint.name}.")
        remaining = tuple(d for d in endpoint.deployed if d.id != deployed_id)
        split = body.get("trafficSplit")
        if split is not None:
            if not isinstance(split, dict):
                raise InvalidArgument("traffic_split must be a map of deployed model ids to percentages.")
            traffic = {str(k): int(v) for k, v in split.items() if int(v) != 0}
        else:
            traffic = {k: v for k, v in endpoint.traffic.items() if k != deployed_id}
        if remaining:
            if traffic.get(deployed_id, 0) or (split is None and endpoint.traffic.get(deployed_id, 0)):
                raise FailedPrecondition(
                    f"DeployedModel {deployed_id} has traffic assigned on {endpoint.name}: give its traffic "
                    "to the "
                    "other deployed models in traffic_split, or undeploy them first."
                )
            known = {d.id for d in remaining}
            if any(k not in known for k in traffic) or (traffic and sum(traffic.values()) != 100):
                raise InvalidArgument(
                    "traffic_split must name deployed models of the endpoint and add up to 100."
                )
            traffic.pop(deployed_id, None)
        else:
            traffic = {}
        now = self.now(tx)
        VertexTables(tx).put_endpoint(replace(endpoint, deployed=remaining, traffic=traffic, update_ns=now))
        op = self._operation(tx, endpoint.name, OperationKind.UNDEPLOY)
        return render_operation(op, call.version, now)

    def delete_endpoint(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """DeleteEndpoint (long-running): refused while models are deployed to it."""
        self.settle(tx)
        endpoint = self._endpoint(tx, call)
        if endpoint.deployed:
            ids = ", ".join(d.id for d in endpoint.deployed)
            raise FailedPrecondition(
                f"Endpoint {endpoint.name} has deployed models ({ids}); undeploy them before deleting the "
                "endpoint."
            )
        VertexTables(tx).delete_endpoint(endpoint.id)
        op = self._operation(tx, endpoint.name, OperationKind.DELETE)
        return render_operation(op, call.version, self.now(tx))

    def generate_content(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GenerateContent on a tuned endpoint: the output of the training example whose input is most
        similar to the prompt (the last non-model turn), as the Gemini API emulator answers."""
        self.settle(tx)
        body = normalize("GenerateContentRequest", call.body, "", schema(call.version))
        endpoint = self._endpoint(tx, call)
        contents = body.get("contents") or []
        if not contents:
            raise InvalidArgument(EMPTY_CONTENTS)
        if not endpoint.deployed:
            raise FailedPrecondition(f"Endpoint {endpoint.name} has no deployed model to serve the request.")
        serving = max(endpoint.deployed, key=lambda d: endpoint.traffic.get(d.id, 0))
        tables = VertexTables(tx)
        model = tables.model(serving.model_name.rsplit("/", 1)[-1])
        version = None
        if model is not None:
            version = next((v for v in tables.versions(model.id) if v.version == serving.version), None)
        examples = tables.examples(version.job_id) if version is not None else []
        prompt = prompt_of(contents)
        config = body.get("generationConfig") or {}
        count = 1
        if isinstance(config, dict):
            raw = config.get("candidateCount", config.get("candidate_count", 1))
            count = max(1, min(8, int32_value("generation_config.candidate_count", raw or 1)))
        outputs = most_similar(examples, prompt, count)
        system = body.get("systemInstruction") or {}
        prompt_tokens = tokens(prompt) + tokens(
            _text(system.get("parts") if isinstance(system, dict) else None)
        )
        output_tokens = sum(tokens(o) for o in outputs)
        rng = self.runtime.rng(tx)
        candidates = []
        for index, text in enumerate(outputs):
            candidate: dict[str, Any] = {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": enum(FINISH_STOP, call.enum_int),
            }
            if index:
                candidate["index"] = index
            candidates.append(candidate)
        return {
            "candidates": candidates,
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": output_tokens,
                "totalTokenCount": prompt_tokens + output_tokens,
            },
            "createTime": format_timestamp(self.now(tx)),
            "responseId": "".join(rng.choice(_BASE64URL) for _ in range(23)),
        }

    # ---------------------------------------------------------------- operations
    def get_operation(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetOperation of a model or endpoint operation (kept after the resource is gone)."""
        self.settle(tx)
        project, location = self._parent(call)
        name = (
            f"projects/{project}/locations/{location}/{call.params['collection']}/{call.params['parent']}"
            f"/operations/{call.params['op']}"
        )
        op = VertexTables(tx).operation(name)
        if op is None:
            raise NotFound(f"Operation {name} not found.")
        return render_operation(op, call.version, self.now(tx))

    # ---------------------------------------------------------------- admin
    def set_operation_seconds(self, tx: Tx, seconds: float) -> None:
        """Make long-running operations finish ``seconds`` after they start (0 = at once)."""
        if seconds < 0:
            raise InvalidArgument("operationSeconds must not be negative.")
        VertexTables(tx).set_operation_seconds(seconds)

    def settings_json(self, tx: Tx) -> dict[str, Any]:
        """The admin view of the Vertex settings."""
        return {"operationSeconds": VertexTables(tx).operation_seconds()}


def _text(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))


__all__ = [
    "FilterTerm",
    "VertexAi",
    "check_labels",
    "checkpoint_epochs",
    "matches",
    "parse_filter",
]
