"""What every Vertex AI handler shares: the clock at microseconds, ids, the parent of a request
path, settling jobs that ended, long-running operations, pages, model versions.

Every handler first *settles*: jobs whose outcome became final on the emulator's clock (see
:mod:`.records`) get their model version and endpoints created, with the creation time of the
instant the job ended. So a job behaves the same in a server, in another process reading the same
file, after a restart, and with the manual clock.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tuned_models_emulator.errors import InvalidArgument, NotFound
from tuned_models_emulator.paging import page, paged_response
from tuned_models_emulator.projects import project_number
from tuned_models_emulator.routes import Body, Call
from tuned_models_emulator.runtime import Runtime
from tuned_models_emulator.store import Tx
from tuned_models_emulator.vertex.catalog import MULTI_REGIONS, REGION
from tuned_models_emulator.vertex.records import (
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
from tuned_models_emulator.vertex.tables import VertexTables
from tuned_models_emulator.wire import decimal

NS = 1_000_000_000
LIST_DEFAULT = 100
LIST_MAX = 1000


def us(ns: int) -> int:
    """``ns`` truncated to microseconds (the precision of Vertex AI timestamps)."""
    return ns - ns % 1000


class VertexBase:
    """The helpers of the Vertex AI handlers (:mod:`.jobs`, :mod:`.registry`)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def now(self, tx: Tx) -> int:
        """The emulator's clock, at microsecond precision (what Vertex AI timestamps carry)."""
        return us(self.runtime.now_ns(tx))

    def new_id(self, tx: Tx) -> str:
        rng = self.runtime.rng(tx)
        return str(rng.randrange(1, 10)) + "".join(str(rng.randrange(10)) for _ in range(18))

    def parent(self, call: Call) -> tuple[str, str]:
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

    def operation(self, tx: Tx, parent_name: str, kind: OperationKind) -> OperationRecord:
        now = self.now(tx)
        tables = VertexTables(tx)
        done = now + round(tables.operation_seconds() * NS)
        op = OperationRecord(f"{parent_name}/operations/{self.new_id(tx)}", kind, now, done)
        tables.put_operation(op)
        return op

    def page(self, key: str, items: list[Any], call: Call, project: str, location: str) -> Body:
        fingerprint = f"{key}:{project}:{location}:{call.query.get('filter') or ''}"
        chunk, token = page(
            items, call.query, default=LIST_DEFAULT, maximum=LIST_MAX, fingerprint=fingerprint
        )
        return paged_response(key, chunk, token)

    @staticmethod
    def version(tables: VertexTables, model: ModelRecord, ref: str | None, name: str) -> VersionRecord:
        """The version ``ref`` (a number or an alias; None or ``-`` = the default version)."""
        versions = tables.versions(model.id)
        if ref is None or ref == "-":
            chosen = next((v for v in versions if "default" in v.aliases), versions[-1] if versions else None)
        elif (number := decimal(ref, digits=18)) is not None:
            chosen = next((v for v in versions if v.version == number), None)
        else:
            chosen = next((v for v in versions if ref in v.aliases), None)
        if chosen is None:
            raise NotFound(f"Model {name} not found.")
        return chosen
