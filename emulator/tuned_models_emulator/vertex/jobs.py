"""Vertex AI tuning jobs: create (validated as the service does, its dataset read from the
emulator's Cloud Storage), get, list, cancel. A job's life is the state machine of
:mod:`.records`, replayed on read."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tuned_models_emulator.errors import FailedPrecondition, InvalidArgument, NotFound
from tuned_models_emulator.faults import forced_failure
from tuned_models_emulator.projects import project_number
from tuned_models_emulator.records import Caller
from tuned_models_emulator.routes import Body, Call, Deferred, off_loop
from tuned_models_emulator.runtime import CLOCK_LIMIT_NS
from tuned_models_emulator.storage import ObjectGone, ObjectRecord, find_object, object_data
from tuned_models_emulator.store import Tx
from tuned_models_emulator.vertex.base import NS, VertexBase, us
from tuned_models_emulator.vertex.catalog import (
    ADAPTER_NAMES,
    ADAPTER_SIZE_UNSUPPORTED,
    ADAPTER_SIZES,
    BATCH_SIZE,
    DEFAULT_EPOCHS,
    MAX_DATASET_BYTES,
    MAX_DISPLAY_NAME,
    MAX_VALIDATION_EXAMPLES,
    REGION,
    TUNABLE_MODELS,
    TunableModel,
    tunable_model,
)
from tuned_models_emulator.vertex.dataset import DatasetStats, data_stats, read_dataset
from tuned_models_emulator.vertex.records import Checkpoint, JobRecord, JobState, ModelRecord, progress
from tuned_models_emulator.vertex.render import render_job
from tuned_models_emulator.vertex.rules import check_labels, checkpoint_epochs, matches, parse_filter
from tuned_models_emulator.vertex.schema import schema
from tuned_models_emulator.vertex.tables import VertexTables
from tuned_models_emulator.wire import format_timestamp, normalize

_GS_URI = re.compile(r"gs://(?P<bucket>[^/]+)/(?P<object>.+)")
_MODEL_NAME = re.compile(
    r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/models/(?P<model>[^/@:]+)(?:@(?P<ref>[^/:]+))?"
)


#: The most training steps a job may take (the emulator's bound, as the Gemini API's int32).
MAX_STEPS = 2**31 - 1


@dataclass(frozen=True, slots=True)
class DatasetRef:
    """A dataset a create request names: the field naming it, its URI, the object as found."""

    field: str
    uri: str
    obj: ObjectRecord


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A create request checked against everything but its datasets' contents."""

    project: str
    location: str
    body: Mapping[str, Any]
    spec: Mapping[str, Any]
    base: TunableModel
    pre_tuned: dict[str, str] | None
    parent_model: ModelRecord | None
    epochs: int
    multiplier: float
    adapter_name: str
    display_name: str
    labels: dict[str, str]
    encryption: Mapping[str, Any] | None
    training: DatasetRef
    validation: DatasetRef | None


class TuningJobs(VertexBase):
    """The handlers of tuning jobs."""

    def _job(self, tx: Tx, call: Call) -> JobRecord:
        project, location = self.parent(call)
        job = VertexTables(tx).job(call.params["job"])
        if job is None or job.project != project or job.location != location:
            name = f"projects/{call.params['project']}/locations/{location}/tuningJobs/{call.params['job']}"
            raise NotFound(f"TuningJob {name} not found.")
        return job

    def create_tuning_job(self, tx: Tx, caller: Caller, call: Call) -> Deferred:
        """CreateTuningJob: checked as the service does, then its datasets are read after this
        transaction (a chunk per transaction of their own, so a 1 GiB dataset holds up no other
        request), then the job is stored PENDING in a transaction of its own, the request checked
        again there (what changed meanwhile counts). Answers the TuningJob."""
        self.settle(tx)
        request = self._check(tx, call)
        return Deferred(lambda _body: self._create(call, request))

    async def _create(self, call: Call, request: JobRequest) -> Body:
        training = await off_loop(self._read, request.training, True)
        validation = None
        if request.validation is not None:
            validation = await off_loop(self._read, request.validation, False)
            count = validation.example_count
            if count > MAX_VALIDATION_EXAMPLES or (count > 1000 and count > 0.3 * training.example_count):
                raise InvalidArgument(
                    f"The validation dataset has {count} examples; at most {MAX_VALIDATION_EXAMPLES} are "
                    "allowed, and at most 30% of the training examples when it has more than 1000."
                )
        return await off_loop(self._store, call, training)

    def _read(self, dataset: DatasetRef, keep_pairs: bool) -> DatasetStats:
        """Validate a dataset and count it, reading it a chunk per transaction."""
        try:
            return read_dataset(
                dataset.uri, object_data(self.runtime.store, dataset.obj), keep_pairs=keep_pairs
            )
        except ObjectGone:
            raise InvalidArgument(
                f"supervised_tuning_spec.{dataset.field}: {dataset.uri} does not exist."
            ) from None

    def _check(self, tx: Tx, call: Call) -> JobRequest:
        """A create request checked against everything but its datasets' contents (400 or 404)."""
        project, location = self.parent(call)
        body = normalize("TuningJob", call.body, "tuning_job", schema(call.version))
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
        if epochs > MAX_STEPS:
            raise InvalidArgument(
                f"hyper_parameters.epoch_count: {epochs} epochs are more steps than the emulator runs "
                f"(at most {MAX_STEPS})."
            )
        multiplier = float(hyper.get("learningRateMultiplier", 1.0))
        if not (multiplier > 0 and math.isfinite(multiplier)):
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
        validation_uri = spec.get("validationDatasetUri") or None
        return JobRequest(
            project=project,
            location=location,
            body=body,
            spec=spec,
            base=base,
            pre_tuned=pre_tuned,
            parent_model=parent_model,
            epochs=epochs,
            multiplier=multiplier,
            adapter_name=adapter_name,
            display_name=display_name,
            labels=labels,
            encryption=encryption,
            training=self._dataset(tx, "training_dataset_uri", str(training_uri)),
            validation=(
                None
                if validation_uri is None
                else self._dataset(tx, "validation_dataset_uri", str(validation_uri))
            ),
        )

    def _store(self, call: Call, training: DatasetStats) -> Body:
        """Store the job of a create request whose training dataset was read; its TuningJob."""
        chunks = training.chunks()
        with self.runtime.store.transaction() as tx:
            self.settle(tx)
            request = self._check(tx, call)
            tables = VertexTables(tx)
            now = self.now(tx)
            step_ns = max(1000, us(round(self.runtime.step_seconds(tx) * NS)))
            steps_per_epoch = math.ceil(training.kept / BATCH_SIZE)
            total_steps = request.epochs * steps_per_epoch
            if total_steps > MAX_STEPS:
                raise InvalidArgument(
                    f"hyper_parameters.epoch_count: {request.epochs} epochs of {steps_per_epoch} steps are "
                    f"{total_steps} steps; the emulator runs at most {MAX_STEPS}."
                )
            if now + step_ns * (total_steps + 1) > CLOCK_LIMIT_NS:
                raise InvalidArgument(
                    f"The job would end after {format_timestamp(CLOCK_LIMIT_NS)}, where the emulator's clock "
                    "stops: use fewer epochs or a shorter stepSeconds."
                )
            job = self._job_record(tx, request, training, now, step_ns, steps_per_epoch)
            tables.insert_job(job, chunks)
            return render_job(job, progress(job, now), enum_int=call.enum_int)

    def _job_record(
        self,
        tx: Tx,
        request: JobRequest,
        training: DatasetStats,
        now: int,
        step_ns: int,
        steps_per_epoch: int,
    ) -> JobRecord:
        """The new job (its model and checkpoint ids drawn here; a continued model's next version
        taken)."""
        tables = VertexTables(tx)
        base, parent_model, spec = request.base, request.parent_model, request.spec
        total_steps = request.epochs * steps_per_epoch
        job_id = self.new_id(tx)
        rng = self.runtime.rng(tx)
        display_name = request.display_name
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
            model_id, model_version, new_model = self.new_id(tx), 1, True
        checkpoints = tuple(
            Checkpoint(str(index), epoch, epoch * steps_per_epoch, self.new_id(tx), self.new_id(tx))
            for index, epoch in enumerate(
                checkpoint_epochs(request.epochs, last_only=bool(spec.get("exportLastCheckpointOnly"))),
                start=1,
            )
        )
        fail_at, fail_message = forced_failure(
            tx, job_id, display_name, total_steps, also=[f"{k}={v}" for k, v in request.labels.items()]
        )
        job = JobRecord(
            id=job_id,
            project=request.project,
            location=request.location,
            create_ns=now,
            start_ns=now + step_ns,
            step_ns=step_ns,
            total_steps=total_steps,
            base_model=base.id,
            display_name=display_name,
            description=str(request.body.get("description") or ""),
            labels=request.labels,
            training_uri=request.training.uri,
            validation_uri=None if request.validation is None else request.validation.uri,
            epoch_count=request.epochs,
            learning_rate_multiplier=request.multiplier,
            adapter_size=request.adapter_name,
            export_last_only=bool(spec.get("exportLastCheckpointOnly")),
            model_id=model_id,
            model_version=model_version,
            new_model=new_model,
            endpoint_location=base.endpoint_location(request.location),
            checkpoints=checkpoints,
            stats=data_stats(training, total_steps),
            pre_tuned=request.pre_tuned,
            encryption_spec=dict(request.encryption) if request.encryption else None,
            service_account=request.body.get("serviceAccount") or None,
            evaluation_config=spec.get("evaluationConfig"),
            fail_at_step=fail_at,
            fail_message=fail_message,
        )
        return job

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
        version = self.version(tables, model, found["ref"], tuned_name)
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

    def _dataset(self, tx: Tx, field_name: str, uri: str) -> DatasetRef:
        """The object a dataset URI names: 400 when it is not a ``gs://`` URI of an existing object
        of at most 1 GB."""
        found = _GS_URI.fullmatch(uri)
        if found is None:
            raise InvalidArgument(
                f"supervised_tuning_spec.{field_name} must be a Cloud Storage URI "
                f"(gs://bucket/object.jsonl), got {uri!r}."
            )
        obj = find_object(tx, found["bucket"], found["object"])
        if obj is None:
            raise InvalidArgument(f"supervised_tuning_spec.{field_name}: {uri} does not exist.")
        if obj.size > MAX_DATASET_BYTES:
            raise InvalidArgument(f"The dataset {uri} is {obj.size} bytes; the limit is 1 GB.")
        return DatasetRef(field_name, uri, obj)

    def get_tuning_job(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """GetTuningJob."""
        self.settle(tx)
        job = self._job(tx, call)
        return render_job(job, progress(job, self.now(tx)), enum_int=call.enum_int)

    def list_tuning_jobs(self, tx: Tx, caller: Caller, call: Call) -> Body:
        """ListTuningJobs: newest first; ``filter`` on ``labels.KEY`` and ``state``; paged."""
        self.settle(tx)
        project, location = self.parent(call)
        terms = parse_filter(call.query.get("filter"), ("state",))
        now = self.now(tx)
        rendered = []
        for job in VertexTables(tx).jobs(project, location):
            prog = progress(job, now)
            if matches(terms, {"state": str(prog.state)}, job.labels):
                rendered.append(render_job(job, prog, enum_int=call.enum_int))
        return self.page("tuningJobs", rendered, call, project, location)

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
