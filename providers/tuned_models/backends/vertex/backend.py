"""The Vertex AI backend: :class:`VertexBackend` over :class:`tuned_models.vertex.client.VertexClient`
and :class:`tuned_models.vertex.storage.StorageClient`.

What a model is here: a supervised **tuning job** (its name is the model's ``name``), the
Model Registry **model** it produced (``...models/M@1``) and the **endpoints** that serve it
(one per checkpoint). The job has no client-chosen id and can never be deleted, so:

- *identity* is in the job's labels (:func:`tuned_models.vertex.labels.identity_labels`: the
  project, stack, resource name, the training spec's digest and the deterministic id); the
  service copies them to the model and the endpoints;
- *submit* follows the contract of :meth:`tuned_models.backends.base.Backend.submit`: it first
  looks for jobs of its own (the identity labels: certainly this model's); one running, or
  succeeded with its model and endpoint still there, is adopted, so an interrupted ``up`` never
  trains twice; one that FAILED or was CANCELLED (or whose model or endpoint was deleted since)
  is replaced: what it left is deleted, said so with the service's message, and a new job is
  created (the old job stays: jobs cannot be deleted). Only then does it read and upload the
  datasets (content-addressed, create-only: a re-run uploads nothing);
- a job that *succeeded* is ACTIVE while its model and endpoint exist; one whose model or
  endpoint was deleted behind Pulumi's back reads as FAILED (with the reason in ``error``), as
  does a FAILED or CANCELLED job: the planner then replaces it (delete first, which removes what
  is left; then a new job);
- *update* patches the model (``displayName``, ``description``, ``labels``; the identity labels
  are always kept); the job itself is immutable;
- *delete* cancels a running job (and waits for it to end), undeploys and deletes every endpoint
  the job made (each checkpoint's) and deletes the model; the job stays, as on the service. A
  delete the service refuses is reported on the log with what is left.

Against an emulator (embedded, or ``http://`` on loopback), the stack's bucket is created when
an upload finds it missing; on Google Cloud it is the user's to create (a missing bucket is an
error saying so).

The conversions between a model's inputs, a job and the neutral :class:`LiveModel` are in
:mod:`tuned_models.backends.vertex.wire` (``job_to_api``, ``live_from_job``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuned_models.backends.base import EVALUATION_SEED, Log, Submission
from tuned_models.backends.vertex.fields import FIELDS
from tuned_models.backends.vertex.wire import job_to_api, live_from_job, progress_of, state_of
from tuned_models.config import Connection
from tuned_models.model.cache import project_cache
from tuned_models.model.datasets import dataset_path
from tuned_models.model.desired import ModelInputs
from tuned_models.model.ids import parse_id
from tuned_models.model.state import LiveModel, ModelState, Progress
from tuned_models.rest.endpoint import resolve_endpoint
from tuned_models.rest.errors import FailedPrecondition, InvalidArgument, NotFound, ServiceError
from tuned_models.vertex.client import VertexClient
from tuned_models.vertex.datasets import DatasetError, DatasetKind, scan_dataset, scan_examples
from tuned_models.vertex.endpoint import endpoint_auth
from tuned_models.vertex.labels import ID_LABEL, RESERVED_PREFIX, identity_labels
from tuned_models.vertex.names import GcsLocation
from tuned_models.vertex.storage import PUBLIC_STORAGE_URL, StorageClient
from tuned_models.vertex.types import Endpoint, JobState, Model, TuningJob
from tuned_models.vertex.upload import upload_dataset

__all__ = ["VertexBackend", "VertexTracker", "connect"]

#: How long delete waits for a cancelled job to end (it may still produce a model meanwhile).
CANCEL_WAIT = 300.0
#: How long delete waits for each undeploy or delete operation.
OPERATION_WAIT = 600.0
_CANCEL_POLLS = (0.5, 1.0, 2.0, 5.0, 10.0)


def connect(connection: Connection, project_root: Path) -> VertexBackend:
    """The backend for a stack's connection: ``tuned-models:vertex`` (project, location, bucket,
    after their environment fallbacks) and ``tuned-models:endpoint``.

    Raises ValueError naming what ``tuned-models:vertex`` lacks; CredentialsMissing (Google's
    hosts and no credentials); RuntimeError (``embedded`` without the emulator installed).
    """
    settings = connection.vertex
    missing = settings.missing()
    if missing:
        raise ValueError(
            "tuned-models:vertex: the vertex backend needs "
            + ", ".join(missing)
            + " (project and location may come from GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION)"
        )
    assert settings.project and settings.location and settings.bucket
    target = resolve_endpoint(
        connection.endpoint,
        project_root=project_root,
        emulator_step_seconds=connection.emulator_step_seconds,
    )
    auth = endpoint_auth(target, None, connection.quota_project, os.environ)
    client = VertexClient(
        settings.project, settings.location, auth, base_url=target.base_url, transport=target.transport
    )
    storage = StorageClient(auth, base_url=target.base_url or PUBLIC_STORAGE_URL, transport=target.transport)
    return VertexBackend(
        client, storage, GcsLocation.parse(settings.bucket), project_root, local=target.local
    )


# -- the backend ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Datasets:
    training: str
    validation: str | None


class VertexBackend:
    """:class:`tuned_models.backends.base.Backend` for Vertex AI tuning jobs (see the module doc)."""

    fields = FIELDS
    grants = None

    def __init__(
        self,
        client: VertexClient,
        storage: StorageClient,
        bucket: GcsLocation,
        project_root: Path,
        *,
        local: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.storage = storage
        self.bucket = bucket
        self.root = project_root
        self.local = local
        self._sleep = sleep
        self._clock = clock

    # -- reading -----------------------------------------------------------------------------

    def _job(self, name: str) -> TuningJob | None:
        """The job ``name`` names: a job's resource name, or a deterministic id (the job carrying
        it as its id label: a succeeded one still serving first, then a running one, then the
        newest). None when there is none."""
        if name.startswith("projects/"):
            try:
                return self.client.get_tuning_job(name)
            except NotFound:
                return None
        jobs = self.client.find_tuning_jobs({ID_LABEL: name})
        succeeded = [j for j in jobs if j.state is JobState.JOB_STATE_SUCCEEDED and not self._spent(j)]
        running = [j for j in jobs if state_of(j) is ModelState.CREATING]
        best = succeeded or running or jobs
        return best[0] if best else None

    def _products(self, job: TuningJob) -> tuple[Model | None, Endpoint | None]:
        tuned = job.tunedModel
        model = endpoint = None
        if tuned and tuned.model:
            with contextlib.suppress(NotFound):
                model = self.client.get_model(tuned.model)
        if tuned and tuned.endpoint:
            with contextlib.suppress(NotFound):
                endpoint = self.client.get_endpoint(tuned.endpoint)
        return model, endpoint

    def live(self, job: TuningJob) -> LiveModel:
        """The job as a :class:`LiveModel`, its model and endpoint read when it succeeded."""
        if job.state is JobState.JOB_STATE_SUCCEEDED or (job.tunedModel and job.tunedModel.model):
            model, endpoint = self._products(job)
            return live_from_job(job, model, endpoint, checked=job.state is JobState.JOB_STATE_SUCCEEDED)
        return live_from_job(job, None, None, checked=False)

    def _spent(self, job: TuningJob) -> bool:
        """A succeeded job whose model or endpoint is gone: never adopted again."""
        if job.state is not JobState.JOB_STATE_SUCCEEDED:
            return False
        return self.live(job).state is not ModelState.ACTIVE

    def find(self, name: str) -> LiveModel | None:
        job = self._job(name)
        return None if job is None else self.live(job)

    def list_models(self, tag: str) -> Iterator[LiveModel]:
        for job in self._own_jobs():
            parsed = parse_id(job.labels.get(ID_LABEL, ""))
            if parsed is None or parsed.tag != tag:
                continue
            live = self.live(job)
            if live.state is ModelState.FAILED and not self._leftovers(job):
                continue  # nothing of it is left but the job record, which cannot be deleted
            yield live

    def _own_jobs(self) -> Iterator[TuningJob]:
        """Every job carrying the product's id label (asked of the service as a filter; a service
        that refuses the filter is asked for every job, which are checked here anyway)."""
        try:
            jobs = list(self.client.iter_tuning_jobs(filter=f"labels.{ID_LABEL}:*"))
        except InvalidArgument:
            jobs = list(self.client.iter_tuning_jobs())
        return (job for job in jobs if ID_LABEL in job.labels)

    def _leftovers(self, job: TuningJob) -> bool:
        model, endpoint = self._products(job)
        return model is not None or endpoint is not None

    def progress(self, model: LiveModel) -> Progress | None:
        return model.progress

    # -- creating ----------------------------------------------------------------------------

    def submit(self, inputs: ModelInputs, root: Path, log: Log) -> Submission:
        identity = identity_labels(
            project=inputs.project,
            stack=inputs.stack,
            resource=inputs.resourceName,
            spec_digest=inputs.spec_digest,
            model_id=inputs.model_id,
        )
        earlier = self.client.find_tuning_jobs(identity)
        for job in earlier:
            if job.state is JobState.JOB_STATE_SUCCEEDED and not self._spent(job):
                return Submission(job.name, earlier=self.live(job))
        for job in earlier:
            if state_of(job) is ModelState.CREATING:
                return Submission(job.name, earlier=self.live(job))
        if earlier:
            self._replace_attempts(inputs, earlier, log)
        datasets = self._upload(inputs, root, log)
        body = job_to_api(inputs, identity, datasets.training, datasets.validation)
        try:
            job, created = self.client.submit_tuning_job(body, identity, spent=self._spent)
        except (InvalidArgument, NotFound, FailedPrecondition) as e:
            raise RuntimeError(f"{inputs.label}: Vertex AI refused the tuning job: {e}") from None
        if not created:
            return Submission(job.name, earlier=self.live(job))
        stats = f"{inputs.exampleCount} examples" if inputs.exampleCount else "submitted"
        log.info(f"{inputs.label}: submitted tuning job {job.name} ({stats}, base model {inputs.baseModel})")
        return Submission(job.name)

    def _replace_attempts(self, inputs: ModelInputs, jobs: list[TuningJob], log: Log) -> None:
        """``jobs`` carry the model's identity (certainly its own earlier attempts) and are of no
        use: FAILED, CANCELLED, or succeeded with what they made deleted since. What they left
        (endpoints, a model) is deleted, said so on ``log`` with the service's message; the jobs
        themselves stay (Vertex AI keeps every job)."""
        newest = self.live(jobs[0])
        error = newest.progress.error if newest.progress is not None else None
        state = jobs[0].state.value.removeprefix("JOB_STATE_")
        log.warn(
            f"{inputs.label}: the previous attempt, {newest.name}, {state}{f' ({error})' if error else ''}; "
            "deleting what it left and training again"
        )
        for job in jobs:
            if self._leftovers(job):
                self.delete(self.live(job), None, log)

    def _upload(self, inputs: ModelInputs, root: Path, log: Log) -> _Datasets:
        training = self._upload_one(inputs, root, log, DatasetKind.TRAINING)
        validation = (
            self._upload_one(inputs, root, log, DatasetKind.VALIDATION) if inputs.validationDataset else None
        )
        assert training is not None
        return _Datasets(training, validation)

    def _upload_one(self, inputs: ModelInputs, root: Path, log: Log, kind: DatasetKind) -> str:
        training = kind is DatasetKind.TRAINING
        path_text = inputs.dataset if training else inputs.validationDataset
        digest = inputs.datasetDigest if training else inputs.validationDatasetDigest
        key = "dataset" if training else "validationDataset"
        with tempfile.TemporaryDirectory(prefix="tuned-models-") as tmp:
            if training and inputs.examples is not None:
                path = Path(tmp) / "examples.jsonl"
                with path.open("wb") as out:
                    scan = scan_examples([(e.textInput, e.output) for e in inputs.examples], kind, out=out)
                where = "the inline examples"
            else:
                assert path_text is not None
                try:
                    path = dataset_path(root, path_text)
                except DatasetError as e:
                    raise RuntimeError(f"{inputs.label}:{key}: {e}; nothing was submitted") from None
                scan = scan_dataset(path, kind, cache=project_cache(root))
                where = path_text
            if not scan.ok:
                first = scan.errors[0].message(where) if scan.errors else f"{where}: it cannot be read"
                raise RuntimeError(f"{inputs.label}:{key}: {first}; nothing was submitted")
            if scan.digest != digest:
                raise RuntimeError(
                    f"{inputs.label}: {where} changed since the preview (digest {scan.digest} != {digest}); "
                    "nothing was submitted. Run `pulumi up` again to review the change."
                )
            progress = _UploadProgress(inputs.label, where, log)
            try:
                try:
                    uploaded = upload_dataset(
                        self.storage, path, self.bucket, kind=kind, scan=scan, on_progress=progress
                    )
                except NotFound:
                    if not self.local:
                        raise
                    # An emulator forgets its buckets when reset: make it exist, then upload.
                    self.storage.create_bucket(self.bucket.bucket, self.client.project)
                    uploaded = upload_dataset(
                        self.storage, path, self.bucket, kind=kind, scan=scan, on_progress=progress
                    )
            except DatasetError as e:
                raise RuntimeError(f"{inputs.label}:{key}: {e}") from None
            except NotFound as e:
                raise RuntimeError(
                    f"{inputs.label}: cannot upload {where} to gs://{self.bucket.bucket}: {e.message} "
                    "(create the bucket first, see the README's prerequisites)"
                ) from None
        if uploaded.uploaded:
            log.info(f"{inputs.label}: uploaded {where} to {uploaded.uri} ({uploaded.size} bytes)")
        return uploaded.uri

    def track(self, name: str, operation: str | None, epochs: int | None) -> VertexTracker:
        return VertexTracker(self, name)

    # -- changing ----------------------------------------------------------------------------

    def update(self, name: str, fields: Mapping[str, Any]) -> LiveModel:
        job = self._job(name)
        if job is None or job.tunedModel is None or not job.tunedModel.model:
            state = job.state.value if job is not None else "gone"
            raise RuntimeError(
                f"{name} has no model to update yet ({state}): the tuning job makes it when it "
                "succeeds; run `pulumi up` again after that to patch it"
            )
        labels: dict[str, str] | None = None
        if "labels" in fields:
            identity = {k: v for k, v in job.labels.items() if k.startswith(RESERVED_PREFIX)}
            labels = {**(fields["labels"] or {}), **identity}
        self.client.update_model(
            job.tunedModel.model,
            display_name=fields.get("displayName"),
            description=fields.get("description"),
            labels=labels,
        )
        return self.live(job)

    def delete(self, model: LiveModel, operation: str | None, log: Log) -> None:
        job = self._job(model.name)
        if job is None:
            return
        if not job.ended:
            job = self._cancel(job, log)
        refused: list[str] = []
        for endpoint in self._endpoints(job):
            self._delete_endpoint(endpoint, refused)
        tuned = job.tunedModel
        if tuned and tuned.model:
            try:
                self.client.wait_operation(self.client.delete_model(tuned.model), timeout=OPERATION_WAIT)
                log.info(f"deleted the model {tuned.model.partition('@')[0]} of {job.name}")
            except NotFound:
                pass
            except ServiceError as e:
                _refused(e, tuned.model.partition("@")[0], refused)
        if refused:
            log.warn(
                f"{job.name}: Vertex AI refused to delete {'; '.join(refused)}. It stays on the service "
                "and is no longer managed by this stack: delete it in the console or with gcloud ai."
            )

    def _cancel(self, job: TuningJob, log: Log) -> TuningJob:
        """Cancel a running job and wait (bounded) until it ended, so that nothing it would
        still produce is left behind."""
        try:
            self.client.cancel_tuning_job(job.name)
            log.info(f"cancelled the tuning job {job.name}")
        except FailedPrecondition:
            pass  # it ended meanwhile
        deadline = self._clock() + CANCEL_WAIT
        polls = 0
        while True:
            job = self.client.get_tuning_job(job.name)
            if job.ended or self._clock() >= deadline:
                break
            self._sleep(_CANCEL_POLLS[min(polls, len(_CANCEL_POLLS) - 1)])
            polls += 1
        if not job.ended:
            log.warn(
                f"{job.name} is still {job.state.value} after {CANCEL_WAIT:.0f} s; if it still produces a "
                "model and endpoints, delete them in the console"
            )
        return job

    def _endpoints(self, job: TuningJob) -> list[str]:
        """Every endpoint the job deployed to: its default and each checkpoint's, and any other
        its model is deployed on."""
        tuned = job.tunedModel
        names = list(tuned.endpoints) if tuned else []
        if tuned and tuned.model:
            with contextlib.suppress(NotFound):
                model = self.client.get_model(tuned.model)
                names += [d.endpoint for d in model.deployedModels if d.endpoint]
        return list(dict.fromkeys(names))

    def _delete_endpoint(self, name: str, refused: list[str]) -> None:
        try:
            endpoint = self.client.get_endpoint(name)
            for deployed in endpoint.deployedModels:
                with contextlib.suppress(NotFound):
                    op = self.client.undeploy_model(endpoint.name, deployed.id)
                    self.client.wait_operation(op, timeout=OPERATION_WAIT)
            self.client.wait_operation(self.client.delete_endpoint(endpoint.name), timeout=OPERATION_WAIT)
        except NotFound:
            return
        except ServiceError as e:
            _refused(e, name, refused)

    # -- using -------------------------------------------------------------------------------

    def generate(self, name: str, prompt: str) -> str:
        # Vertex AI has no sampling defaults on a tuned model: the service's apply. The seed
        # makes sampling repeatable where the service honours it (generationConfig.seed).
        job = self._job(name)
        endpoint = job.tunedModel.endpoint if job is not None and job.tunedModel else None
        if not endpoint:
            raise RuntimeError(f"{name}: the model has no endpoint to ask")
        config = {"candidateCount": 1, "seed": EVALUATION_SEED}
        return self.client.generate_content(
            endpoint, prompt, generation_config=config, retry_server_errors=True
        ).text


def _refused(error: ServiceError, name: str, refused: list[str]) -> None:
    """Note that the service refused to delete ``name``; a transient error is raised instead
    (the lifecycle tries the whole delete again, which starts from what is left)."""
    if error.transient:
        raise error
    refused.append(f"{name} ({error})")


class _UploadProgress:
    """Logs an upload's progress at every 10% (large files go in resumable chunks)."""

    def __init__(self, label: str, what: str, log: Log) -> None:
        self.label, self.what, self.log = label, what, log
        self.last = -10

    def __call__(self, sent: int, total: int) -> None:
        if total <= 0:
            return
        percent = 100 * sent // total
        if percent >= self.last + 10 and (0 < sent < total or self.last >= 0):
            self.log.info(f"{self.label}: uploading {self.what}: {percent}% of {total} bytes")
            self.last = percent


class VertexTracker:
    """Tracks a tuning job until it ends."""

    def __init__(self, backend: VertexBackend, name: str) -> None:
        self._backend = backend
        self.name = name
        self._job: TuningJob | None = None

    def poll(self) -> Progress:
        job = self._backend._job(self.name)
        if job is None:
            raise RuntimeError(f"{self.name} is not on the service (deleted while this `up` ran?)")
        self._job = job
        self.name = job.name
        return progress_of(job)

    def result(self) -> LiveModel:
        job = self._job or self._backend._job(self.name)
        if job is None:
            raise RuntimeError(f"{self.name} is not on the service")
        return self._backend.live(job)
