"""``VertexClient``: Vertex AI tuning jobs, Model Registry models, endpoints, operations and
``generateContent`` on a tuned endpoint, over the shared HTTP core
(:class:`tuned_models.rest.RestClient`).

Every call has a timeout, is retried as :mod:`tuned_models.rest.retry` decides (retries are
logged on ``tuned_models.vertex``), and raises a :class:`~tuned_models.rest.errors.ServiceError`
subclass carrying the service's message. Calls
go to the host of the resource's own location (:func:`.names.service_base_url`), or to one base
URL for an emulator.

Idempotency. Creating a tuning job names no id (the service makes one) and carries no request
id, so a create whose answer was lost cannot be repeated safely: :meth:`create_tuning_job` is
retried only when the service certainly did not act (429, connection refused). Recovery is by
labels instead: the job carries :func:`.labels.identity_labels`, and :meth:`submit_tuning_job`
looks for a job with those labels before creating one, and again after a create that failed
ambiguously (5xx, dropped connection, timeout), so an interrupted or retried ``up`` adopts the
job it already submitted instead of training twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, TypeVar, Unpack

import httpx
import pydantic

from tuned_models.rest.core import PAGE_SIZE, ClientOptions, ServiceClient, parse
from tuned_models.rest.errors import InvalidArgument, ServiceError, TransportFailure

from .errors import OperationTimeout, error_from_status
from .labels import has_labels, labels_filter
from .names import check_location, location_of, operation_name, resource_name, service_base_url
from .types import (
    ADOPTABLE_STATES,
    Endpoint,
    GenerateContentResponse,
    JobState,
    Model,
    Operation,
    TuningJob,
)

__all__ = ["DEFAULT_API_VERSION", "VertexClient"]

log = logging.getLogger("tuned_models.vertex")

DEFAULT_API_VERSION = "v1"
#: Delays between polls of a long-running operation: quick at first, then every 10 s.
_OPERATION_POLLS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 10.0)
#: How many times :meth:`VertexClient.submit_tuning_job` looks for the job after an ambiguous failure.
_LOOKS_AFTER_FAILURE = 3
_M = TypeVar("_M", bound=pydantic.BaseModel)


class VertexClient(ServiceClient):
    """A client of Vertex AI (or of an emulator of it) for one project and default location.

    Args:
        project: the project id (or number) whose resources bare ids name.
        location: the default location: where jobs are created and bare ids live.
        auth: an ``httpx.Auth`` from :mod:`.auth` (``None`` sends no credentials).
        base_url: an emulator's base URL (``http://127.0.0.1:8471``) used for every location;
            ``None`` for Google's hosts.
        transport: an httpx transport instead of the network (the embedded emulator).
        api_version: the version path (``v1``; ``v1beta1`` works the same for these calls).
        options: ``timeout``, ``retry``, ``sleep``, ``random``, ``clock``, as for
            :class:`tuned_models.rest.RestClient` (tests inject them).

    Resource arguments take a bare id (``"123"``, under ``project``/``location``) or a full name
    (``projects/P/locations/L/tuningJobs/123``, as the service returns them). Raises
    ``ValueError`` for malformed names before sending anything.
    """

    _repr_attributes = ("project", "location", "base_url")

    def __init__(
        self,
        project: str,
        location: str,
        auth: httpx.Auth | None,
        *,
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        **options: Unpack[ClientOptions],
    ) -> None:
        if not project or not project.strip():
            raise ValueError("project is empty")
        self.project = project.strip()
        self.location = check_location(location)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.api_version = api_version.strip("/")
        super().__init__(self.base_url or service_base_url(self.location), auth, service="vertex", **options)

    @property
    def parent(self) -> str:
        """``projects/{project}/locations/{location}``."""
        return f"projects/{self.project}/locations/{self.location}"

    def url(self, name: str) -> str:
        """The URL of a full resource name (or ``name:verb``), on its location's host."""
        base = self.base_url or service_base_url(location_of(name))
        return f"{base}/{self.api_version}/{name}"

    def _name(self, collection: str, name: str) -> str:
        return resource_name(self.project, self.location, collection, name)

    # -- tuning jobs -------------------------------------------------------------------------

    def create_tuning_job(self, job: Mapping[str, Any]) -> TuningJob:
        """``POST /v1/{parent}/tuningJobs``: submit a tuning job (the request body, API JSON).

        The service starts the job at once and returns it (not an operation). Not retried on
        5xx or a dropped connection (a repeat could train twice); see the module docstring and
        :meth:`submit_tuning_job` for recovering such a failure by labels.

        Raises:
            InvalidArgument: a field is invalid (an adapter size the base model does not allow,
                a dataset URI that is not ``gs://``). NotFound: the base model or dataset does
                not exist. PermissionDenied, ResourceExhausted (quota).
        """
        data = self._core.call(
            "POST", self.url(f"{self.parent}/tuningJobs"), json=dict(job), idempotent=False
        )
        return parse(TuningJob, data)

    def get_tuning_job(self, name: str) -> TuningJob:
        """``GET /v1/{name}``. Raises NotFound when it does not exist."""
        return parse(TuningJob, self._core.call("GET", self.url(self._name("tuningJobs", name))))

    def list_tuning_jobs(
        self,
        *,
        filter: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> tuple[list[TuningJob], str | None]:
        """``GET /v1/{parent}/tuningJobs``: one page.

        ``filter`` is the service's list filter (``labels.k="v" AND state="JOB_STATE_RUNNING"``;
        the grammar is documented for other Vertex jobs, not for tuning jobs).

        Returns:
            the page's jobs and the next page token (``None`` on the last page).
        """
        return self._page(TuningJob, f"{self.parent}/tuningJobs", filter, page_size, page_token)

    def iter_tuning_jobs(self, filter: str | None = None, page_size: int = PAGE_SIZE) -> Iterator[TuningJob]:
        """Every tuning job in the default location (matching ``filter``), page after page."""
        yield from self._every(TuningJob, f"{self.parent}/tuningJobs", filter, page_size)

    def find_tuning_jobs(
        self,
        labels: Mapping[str, str],
        states: Collection[JobState] | None = None,
    ) -> list[TuningJob]:
        """The jobs in the default location carrying every one of ``labels`` (and in one of
        ``states`` when given), newest first.

        The labels are sent as the list filter and checked again on every job returned, so a
        service that ignores the filter still gives the right answer; one that refuses it
        (``InvalidArgument``) is asked again without a filter.

        Raises:
            ValueError: ``labels`` is empty (every job would match).
        """
        if not labels:
            raise ValueError("find_tuning_jobs needs at least one label")
        try:
            candidates = list(self.iter_tuning_jobs(filter=labels_filter(labels)))
        except InvalidArgument as exc:
            log.info("vertex: the tuning job list refused a label filter (%s); listing all", exc.message)
            candidates = list(self.iter_tuning_jobs())
        found = [
            job
            for job in candidates
            if has_labels(job.labels, labels) and (states is None or job.state in states)
        ]
        found.sort(key=lambda job: (job.createTime is not None, job.createTime, job.name), reverse=True)
        return found

    def submit_tuning_job(
        self,
        job: Mapping[str, Any],
        identity: Mapping[str, str],
        *,
        spent: Callable[[TuningJob], bool] | None = None,
    ) -> tuple[TuningJob, bool]:
        """Create the tuning job ``job`` unless a job of one's own (``identity`` labels, training
        or succeeded) exists; never submit twice for one identity.

        ``spent(job)``: True for a succeeded job not worth adopting any more (what it produced
        was deleted); such jobs are passed over (jobs cannot be deleted, so one identity may
        have several).

        1. Look for a job carrying ``identity`` in :data:`~.types.ADOPTABLE_STATES`; if there is
           one, return it (the newest succeeded one first, else the newest).
        2. Otherwise create ``job`` (its ``labels`` must include ``identity``).
        3. If the create failed ambiguously (a 5xx, a dropped connection or a timeout: the job may
           exist), look again a few times, waiting as the retry policy does; return the job if it
           appeared, else raise the create's error (the next call looks first again).

        Returns:
            the job, and True when this call created it (False when it was adopted).
        Raises:
            ValueError: ``job``'s labels lack ``identity``. The create's typed error otherwise.
        """
        labels = job.get("labels") or {}
        if not isinstance(labels, Mapping) or not has_labels(labels, identity):
            raise ValueError("the tuning job's labels must include its identity labels")
        existing = self._adoptable(identity, spent)
        if existing is not None:
            return existing, False
        try:
            return self.create_tuning_job(job), True
        except ServiceError as exc:
            if not _ambiguous(exc):
                raise
            failure = exc
        for look in range(1, _LOOKS_AFTER_FAILURE + 1):
            self._core.sleep(self._core.retry.backoff(look, self._core.random))
            try:
                found = self._adoptable(identity, spent)
            except ServiceError:
                continue
            if found is not None:
                log.info(
                    "vertex: the tuning job %s landed although its create failed (%s)", found.name, failure
                )
                return found, True
        raise failure

    def _adoptable(
        self, identity: Mapping[str, str], spent: Callable[[TuningJob], bool] | None = None
    ) -> TuningJob | None:
        jobs = [
            job
            for job in self.find_tuning_jobs(identity, ADOPTABLE_STATES)
            if spent is None or job.state is not JobState.JOB_STATE_SUCCEEDED or not spent(job)
        ]
        succeeded = [job for job in jobs if job.state is JobState.JOB_STATE_SUCCEEDED]
        best = succeeded or jobs
        return best[0] if best else None

    def cancel_tuning_job(self, name: str) -> None:
        """``POST /v1/{name}:cancel`` (body ``{}``); asynchronous and best effort, safe to repeat.

        The job is not deleted (jobs cannot be): it goes CANCELLING, then CANCELLED with
        ``error.code`` 1, unless it finished first. Raises NotFound; a job that already ended
        may be refused (``FailedPrecondition``; the service does not document it).
        """
        self._core.call(
            "POST", self.url(f"{self._name('tuningJobs', name)}:cancel"), json={}, idempotent=True
        )

    # -- models ------------------------------------------------------------------------------

    def get_model(self, name: str) -> Model:
        """``GET /v1/{name}``: the default version, or the version ``...models/M@N`` names."""
        return parse(Model, self._core.call("GET", self.url(self._name("models", name))))

    def list_models(
        self,
        *,
        filter: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Model], str | None]:
        """``GET /v1/{parent}/models``: one page (``filter`` e.g. ``labels.k="v"``)."""
        return self._page(Model, f"{self.parent}/models", filter, page_size, page_token)

    def iter_models(self, filter: str | None = None, page_size: int = PAGE_SIZE) -> Iterator[Model]:
        """Every model in the default location (matching ``filter``), page after page."""
        yield from self._every(Model, f"{self.parent}/models", filter, page_size)

    def update_model(
        self,
        name: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Model:
        """``PATCH /v1/{model}?updateMask=...``: change the model's display name, description
        and labels in place (the fields given; ``None`` leaves a field alone).

        These are model-level fields, so any ``@version`` in ``name`` is dropped (the service
        refuses a version name for them). ``labels`` replaces the whole map: include the identity
        labels. The call is synchronous (no operation).

        Raises:
            ValueError: nothing to change. NotFound, InvalidArgument.
        """
        fields: dict[str, Any] = {}
        if display_name is not None:
            fields["displayName"] = display_name
        if description is not None:
            fields["description"] = description
        if labels is not None:
            fields["labels"] = dict(labels)
        if not fields:
            raise ValueError("update_model: give display_name, description or labels")
        model = self._name("models", name).partition("@")[0]
        data = self._core.call(
            "PATCH",
            self.url(model),
            params={"updateMask": ",".join(fields)},
            json={"name": model, **fields},
        )
        return parse(Model, data)

    def delete_model(self, name: str) -> Operation:
        """``DELETE /v1/{model}``: delete the model and every version (a long-running operation).

        Refused (``FailedPrecondition``) while any version is deployed to an endpoint: undeploy
        first. Raises NotFound when it does not exist, including when an earlier attempt of this
        call deleted it (``attempts > 1``): callers deleting treat both as done.
        """
        model = self._name("models", name).partition("@")[0]
        return parse(Operation, self._core.call("DELETE", self.url(model)))

    def delete_model_version(self, name: str) -> Operation:
        """``DELETE /v1/{model@version}:deleteVersion`` (an operation).

        Refused for the only version of a model (use :meth:`delete_model`) and while deployed.

        Raises:
            ValueError: ``name`` has no ``@version``.
        """
        full = self._name("models", name)
        if "@" not in full.rsplit("/", 1)[-1]:
            raise ValueError(f"delete_model_version needs a versioned name (...models/M@N): {name!r}")
        return parse(Operation, self._core.call("DELETE", self.url(f"{full}:deleteVersion")))

    # -- endpoints ---------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> Endpoint:
        """``GET /v1/{name}`` (on the endpoint's own location's host)."""
        return parse(Endpoint, self._core.call("GET", self.url(self._name("endpoints", name))))

    def list_endpoints(
        self,
        *,
        location: str | None = None,
        filter: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> tuple[list[Endpoint], str | None]:
        """``GET /v1/projects/P/locations/L/endpoints``: one page, in ``location`` (default: the
        client's; tuned Gemini 3.x endpoints live in ``us`` / ``eu``)."""
        return self._page(Endpoint, f"{self._parent_of(location)}/endpoints", filter, page_size, page_token)

    def iter_endpoints(
        self, filter: str | None = None, *, location: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[Endpoint]:
        """Every endpoint in ``location`` (default: the client's) matching ``filter``."""
        yield from self._every(Endpoint, f"{self._parent_of(location)}/endpoints", filter, page_size)

    def undeploy_model(
        self,
        endpoint: str,
        deployed_model_id: str,
        traffic_split: Mapping[str, int] | None = None,
    ) -> Operation:
        """``POST /v1/{endpoint}:undeployModel``: stop serving one deployed model (an operation).

        A deployed model that still has traffic is refused unless ``traffic_split`` moves it.
        Repeating is safe: a retry after the first attempt landed gets NotFound or
        FailedPrecondition (``attempts > 1``), which callers undeploying treat as done.
        """
        body: dict[str, Any] = {"deployedModelId": deployed_model_id}
        if traffic_split is not None:
            body["trafficSplit"] = dict(traffic_split)
        url = self.url(f"{self._name('endpoints', endpoint)}:undeployModel")
        return parse(Operation, self._core.call("POST", url, json=body, idempotent=True))

    def delete_endpoint(self, name: str) -> Operation:
        """``DELETE /v1/{endpoint}`` (an operation). Refused (``FailedPrecondition``) while models
        are deployed on it. NotFound as for :meth:`delete_model`."""
        return parse(Operation, self._core.call("DELETE", self.url(self._name("endpoints", name))))

    # -- operations --------------------------------------------------------------------------

    def get_operation(self, name: str) -> Operation:
        """``GET /v1/{operation}`` (any ``projects/*/locations/*/.../operations/*`` name)."""
        return parse(Operation, self._core.call("GET", self.url(operation_name(name))))

    def wait_operation(
        self,
        operation: Operation | str,
        *,
        timeout: float = 600.0,
        raise_on_error: bool = True,
    ) -> Operation:
        """Poll an operation until it is done; quick polls first, then every 10 seconds.

        Returns:
            the done operation.
        Raises:
            ServiceError: the operation failed (its ``error`` as the matching typed error), unless
                ``raise_on_error`` is False. OperationTimeout: not done after ``timeout`` seconds
                (it keeps running on the service).
        """
        current = operation if isinstance(operation, Operation) else self.get_operation(operation)
        deadline = self._core.clock() + timeout
        polls = 0
        while not current.done:
            delay = _OPERATION_POLLS[min(polls, len(_OPERATION_POLLS) - 1)]
            remaining = deadline - self._core.clock()
            if remaining <= 0:
                raise OperationTimeout(current.name, timeout)
            self._core.sleep(min(delay, remaining))
            polls += 1
            current = self.get_operation(current.name)
        if raise_on_error and current.error is not None:
            raise error_from_status(current.error, context=f"operation {current.name}")
        return current

    # -- inference ---------------------------------------------------------------------------

    def generate_content(
        self,
        endpoint: str,
        contents: str | Sequence[Mapping[str, Any]],
        *,
        system_instruction: str | None = None,
        generation_config: Mapping[str, Any] | None = None,
        retry_server_errors: bool = False,
    ) -> GenerateContentResponse:
        """``POST /v1/{endpoint}:generateContent``: ask a tuned model (its endpoint, not its
        Model Registry name, which the service refuses).

        ``contents`` is a user text or the API's ``contents`` list. 429s and refused connections
        are retried; 5xx and dropped connections only with ``retry_server_errors`` (an answer
        changes nothing on the service, but it may cost).
        """
        if isinstance(contents, str):
            body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": contents}]}]}
        else:
            body = {"contents": [dict(content) for content in contents]}
        if system_instruction is not None:
            body["systemInstruction"] = {"parts": [{"text": system_instruction}]}
        if generation_config is not None:
            body["generationConfig"] = dict(generation_config)
        url = self.url(f"{self._name('endpoints', endpoint)}:generateContent")
        return parse(
            GenerateContentResponse, self._core.call("POST", url, json=body, idempotent=retry_server_errors)
        )

    # -- plumbing ----------------------------------------------------------------------------

    def _page(
        self,
        model: type[_M],
        collection: str,
        filter: str | None,
        page_size: int | None,
        page_token: str | None,
    ) -> tuple[list[_M], str | None]:
        """One page of ``collection`` (``{parent}/tuningJobs`` ...): its items as ``model``, and
        the next page token (``None`` on the last page)."""
        key = collection.rsplit("/", 1)[-1]
        items, token = self._core.page(
            self.url(collection), key, page_size=page_size, page_token=page_token, filter=filter
        )
        return [parse(model, item) for item in items], token

    def _every(self, model: type[_M], collection: str, filter: str | None, page_size: int) -> Iterator[_M]:
        """Every item of ``collection`` as ``model``, page after page."""
        key = collection.rsplit("/", 1)[-1]
        for item in self._core.pages(self.url(collection), key, page_size=page_size, filter=filter):
            yield parse(model, item)

    def _parent_of(self, location: str | None) -> str:
        if location is None:
            return self.parent
        return f"projects/{self.project}/locations/{check_location(location)}"


def _ambiguous(error: ServiceError) -> bool:
    """Whether a failed create may nevertheless have created the job."""
    if isinstance(error, TransportFailure):
        # Refused connections never reached the server (and were retried already).
        return error.error_class not in ("ConnectError", "ConnectTimeout", "PoolTimeout")
    return error.code is not None and error.code >= 500
