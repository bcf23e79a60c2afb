"""Vertex AI state in the emulator's SQLite file: rows in, rows out, inside one transaction.

Jobs keep ``settle_us`` (when their outcome becomes final, in microseconds: an SQLite integer holds
instants up to the emulator's clock limit, 9999-01-01, in microseconds, not in nanoseconds) and
``settled`` in columns, so that the jobs whose model and endpoints must now come to exist are one
indexed query.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tuned_models_emulator.store import Tx
from tuned_models_emulator.vertex.records import (
    EndpointRecord,
    JobRecord,
    ModelRecord,
    OperationRecord,
    VersionRecord,
)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vtx_jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, project TEXT NOT NULL, "
    "location TEXT NOT NULL, settle_us INTEGER NOT NULL, settled INTEGER NOT NULL, record TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS vtx_jobs_unsettled ON vtx_jobs (settled, settle_us)",
    "CREATE TABLE IF NOT EXISTS vtx_pairs (job_id TEXT NOT NULL, seq INTEGER NOT NULL, pairs TEXT NOT NULL, "
    "PRIMARY KEY (job_id, seq))",
    "CREATE TABLE IF NOT EXISTS vtx_models (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, project TEXT NOT "
    "NULL, "
    "location TEXT NOT NULL, record TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS vtx_versions (model_id TEXT NOT NULL, version INTEGER NOT NULL, "
    "record TEXT NOT NULL, PRIMARY KEY (model_id, version))",
    "CREATE TABLE IF NOT EXISTS vtx_endpoints (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, project TEXT NOT "
    "NULL, "
    "location TEXT NOT NULL, record TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS vtx_operations (name TEXT PRIMARY KEY, record TEXT NOT NULL)",
)
TABLES = ("vtx_jobs", "vtx_pairs", "vtx_models", "vtx_versions", "vtx_endpoints", "vtx_operations")


class VertexTables:
    """Typed access to the Vertex tables of one transaction."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.conn = tx.conn

    # jobs -----------------------------------------------------------------
    def job(self, job_id: str) -> JobRecord | None:
        """A stored job, or None."""
        row = self.conn.execute("SELECT record FROM vtx_jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else JobRecord.from_dict(json.loads(row[0]))

    def jobs(self, project: str, location: str) -> list[JobRecord]:
        """The jobs of a project and location, newest first."""
        rows = self.conn.execute(
            "SELECT record FROM vtx_jobs WHERE project = ? AND location = ? ORDER BY seq DESC",
            (project, location),
        ).fetchall()
        return [JobRecord.from_dict(json.loads(row[0])) for row in rows]

    def insert_job(self, job: JobRecord, pair_chunks: Sequence[str]) -> None:
        """Store a new job and the training pairs its endpoints answer from: chunks of
        comma-joined JSON ``{"textInput", "output"}`` objects (:meth:`DatasetStats.chunks`),
        one row each, so that a reader never holds the store for all of them at once."""
        seq = self.tx.next_counter("vtx_job_seq")
        self.conn.execute(
            "INSERT INTO vtx_jobs (id, seq, project, location, settle_us, settled, record) VALUES "
            "(?,?,?,?,?,0,?)",
            (job.id, seq, job.project, job.location, job.settle_ns // 1000, json.dumps(job.to_dict())),
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO vtx_pairs (job_id, seq, pairs) VALUES (?, ?, ?)",
            ((job.id, seq, chunk) for seq, chunk in enumerate(pair_chunks)),
        )

    def update_job(self, job: JobRecord) -> None:
        """Replace a job's record (and its settle instant)."""
        self.conn.execute(
            "UPDATE vtx_jobs SET record = ?, settle_us = ? WHERE id = ?",
            (json.dumps(job.to_dict()), job.settle_ns // 1000, job.id),
        )

    def unsettled_jobs(self, now_ns: int) -> list[JobRecord]:
        """Jobs whose outcome became final at or before ``now_ns`` and was not applied yet."""
        rows = self.conn.execute(
            "SELECT record FROM vtx_jobs WHERE settled = 0 AND settle_us <= ? ORDER BY settle_us, seq",
            (now_ns // 1000,),
        ).fetchall()
        return [JobRecord.from_dict(json.loads(row[0])) for row in rows]

    def mark_settled(self, job_id: str) -> None:
        """Record that a job's outcome was applied."""
        self.conn.execute("UPDATE vtx_jobs SET settled = 1 WHERE id = ?", (job_id,))

    def pair_chunk(self, job_id: str, seq: int) -> str | None:
        """Chunk ``seq`` (from 0) of a job's training pairs as stored (see :meth:`insert_job`), or
        None past the last one."""
        row = self.conn.execute(
            "SELECT pairs FROM vtx_pairs WHERE job_id = ? AND seq = ?", (job_id, seq)
        ).fetchone()
        return None if row is None else str(row[0])

    # models ---------------------------------------------------------------
    def model(self, model_id: str) -> ModelRecord | None:
        """A model, or None."""
        row = self.conn.execute("SELECT record FROM vtx_models WHERE id = ?", (model_id,)).fetchone()
        return None if row is None else ModelRecord.from_dict(json.loads(row[0]))

    def models(self, project: str, location: str) -> list[ModelRecord]:
        """The models of a project and location, newest first."""
        rows = self.conn.execute(
            "SELECT record FROM vtx_models WHERE project = ? AND location = ? ORDER BY seq DESC",
            (project, location),
        ).fetchall()
        return [ModelRecord.from_dict(json.loads(row[0])) for row in rows]

    def put_model(self, model: ModelRecord) -> None:
        """Insert or replace a model (its creation order is kept)."""
        row = self.conn.execute("SELECT seq FROM vtx_models WHERE id = ?", (model.id,)).fetchone()
        seq = int(row[0]) if row is not None else self.tx.next_counter("vtx_model_seq")
        self.conn.execute(
            "INSERT OR REPLACE INTO vtx_models (id, seq, project, location, record) VALUES (?,?,?,?,?)",
            (model.id, seq, model.project, model.location, json.dumps(model.to_dict())),
        )

    def delete_model(self, model_id: str) -> None:
        """Forget a model and every version of it."""
        self.conn.execute("DELETE FROM vtx_models WHERE id = ?", (model_id,))
        self.conn.execute("DELETE FROM vtx_versions WHERE model_id = ?", (model_id,))

    def versions(self, model_id: str) -> list[VersionRecord]:
        """A model's versions, oldest first."""
        rows = self.conn.execute(
            "SELECT record FROM vtx_versions WHERE model_id = ? ORDER BY version", (model_id,)
        ).fetchall()
        return [VersionRecord.from_dict(json.loads(row[0])) for row in rows]

    def put_version(self, version: VersionRecord) -> None:
        """Insert or replace a model version."""
        self.conn.execute(
            "INSERT OR REPLACE INTO vtx_versions (model_id, version, record) VALUES (?,?,?)",
            (version.model_id, version.version, json.dumps(version.to_dict())),
        )

    def delete_version(self, model_id: str, version: int) -> None:
        """Forget one version."""
        self.conn.execute("DELETE FROM vtx_versions WHERE model_id = ? AND version = ?", (model_id, version))

    # endpoints ------------------------------------------------------------
    def endpoint(self, endpoint_id: str) -> EndpointRecord | None:
        """An endpoint, or None."""
        row = self.conn.execute("SELECT record FROM vtx_endpoints WHERE id = ?", (endpoint_id,)).fetchone()
        return None if row is None else EndpointRecord.from_dict(json.loads(row[0]))

    def endpoints(self, project: str, location: str | None = None) -> list[EndpointRecord]:
        """The endpoints of a project (and location), newest first."""
        if location is None:
            rows = self.conn.execute(
                "SELECT record FROM vtx_endpoints WHERE project = ? ORDER BY seq DESC", (project,)
            ).fetchall()
        else:
            rows = self.conn.execute(
                "SELECT record FROM vtx_endpoints WHERE project = ? AND location = ? ORDER BY seq DESC",
                (project, location),
            ).fetchall()
        return [EndpointRecord.from_dict(json.loads(row[0])) for row in rows]

    def put_endpoint(self, endpoint: EndpointRecord) -> None:
        """Insert or replace an endpoint (its creation order is kept)."""
        row = self.conn.execute("SELECT seq FROM vtx_endpoints WHERE id = ?", (endpoint.id,)).fetchone()
        seq = int(row[0]) if row is not None else self.tx.next_counter("vtx_endpoint_seq")
        self.conn.execute(
            "INSERT OR REPLACE INTO vtx_endpoints (id, seq, project, location, record) VALUES (?,?,?,?,?)",
            (endpoint.id, seq, endpoint.project, endpoint.location, json.dumps(endpoint.to_dict())),
        )

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Forget an endpoint."""
        self.conn.execute("DELETE FROM vtx_endpoints WHERE id = ?", (endpoint_id,))

    # operations -----------------------------------------------------------
    def operation(self, name: str) -> OperationRecord | None:
        """A long-running operation by full name, or None."""
        row = self.conn.execute("SELECT record FROM vtx_operations WHERE name = ?", (name,)).fetchone()
        return None if row is None else OperationRecord.from_dict(json.loads(row[0]))

    def put_operation(self, operation: OperationRecord) -> None:
        """Store an operation."""
        self.conn.execute(
            "INSERT OR REPLACE INTO vtx_operations (name, record) VALUES (?, ?)",
            (operation.name, json.dumps(operation.to_dict())),
        )

    # settings -------------------------------------------------------------
    def operation_seconds(self) -> float:
        """How long long-running operations take (0 = done when returned)."""
        return float(self.tx.meta("vtx_operation_seconds") or 0.0)

    def set_operation_seconds(self, seconds: float | None) -> None:
        """Set (None: back to 0) how long long-running operations take."""
        self.tx.set_meta("vtx_operation_seconds", None if seconds is None else repr(float(seconds)))
