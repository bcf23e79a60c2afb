"""SQLite storage for the emulator (standard library ``sqlite3``).

One file holds everything: tuned models, their training examples, permissions, callers, faults,
failure rules, the journal, the emulator's settings and clock, and the generic records other
services keep by kind and id (:meth:`Tx.record`). A file store runs in WAL mode
with a busy timeout, and every request is one short ``BEGIN IMMEDIATE`` transaction, so two
processes using the same file see each other's writes and never interleave inside one request.
``Store.open(None)`` keeps everything in memory (tests).

The store is deliberately thin: rows in, rows out, records as JSON text. Rules live in the
services (:mod:`tuned_models_emulator.backend` for the Gemini API).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: How many journal entries a long-running emulator keeps.
JOURNAL_LIMIT = 20_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS examples (model_id TEXT PRIMARY KEY, examples TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS permissions (
    model_id TEXT NOT NULL, perm_id TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (model_id, perm_id));
CREATE TABLE IF NOT EXISTS callers (hash TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL, data BLOB,
    PRIMARY KEY (kind, id));
"""


class Tx:
    """The operations available inside one transaction (see :meth:`Store.transaction`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        # Settings as read or written in this transaction: no one else writes while it holds the
        # database. Forgotten when a savepoint rolls back.
        self._meta: dict[str, str | None] = {}

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested unit of work: when the block raises, only its own writes are undone (the
        exception propagates); otherwise they stay part of the enclosing transaction."""
        self.conn.execute("SAVEPOINT unit")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK TO unit")
            self._meta.clear()
            raise
        finally:
            self.conn.execute("RELEASE unit")

    # a service's own tables --------------------------------------------------
    def create_tables(self, schema: Iterable[str]) -> None:
        """Run a service's ``CREATE ... IF NOT EXISTS`` statements (when it is built)."""
        for statement in schema:
            self.conn.execute(statement)

    def clear_tables(self, tables: Iterable[str]) -> None:
        """Delete every row of a service's tables (its part of a reset)."""
        for table in tables:
            self.conn.execute(f"DELETE FROM {table}")

    # meta -----------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """The value of a setting, or None."""
        if key not in self._meta:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            self._meta[key] = None if row is None else str(row[0])
        return self._meta[key]

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or with None, remove) a setting."""
        self._meta[key] = value
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def next_counter(self, key: str) -> int:
        """Increment and return an integer counter stored in meta (starts at 1)."""
        value = int(self.meta(key) or "0") + 1
        self.set_meta(key, str(value))
        return value

    # models ---------------------------------------------------------------
    def model(self, model_id: str) -> dict[str, Any] | None:
        """The stored record of a tuned model, or None."""
        row = self.conn.execute("SELECT record FROM models WHERE id = ?", (model_id,)).fetchone()
        return None if row is None else _loads(row[0])

    def models(self) -> list[dict[str, Any]]:
        """Every tuned model record, oldest first."""
        rows = self.conn.execute("SELECT record FROM models ORDER BY seq").fetchall()
        return [_loads(row[0]) for row in rows]

    def insert_model(self, model_id: str, record: dict[str, Any], examples_json: str) -> None:
        """Store a new tuned model and its training examples (a JSON array, encoded by the caller)."""
        seq = self.next_counter("model_seq")
        self.conn.execute(
            "INSERT INTO models (id, seq, record) VALUES (?, ?, ?)",
            (model_id, seq, json.dumps(record)),
        )
        self.conn.execute(
            "INSERT OR REPLACE INTO examples (model_id, examples) VALUES (?, ?)",
            (model_id, examples_json),
        )

    def update_model(self, model_id: str, record: dict[str, Any]) -> None:
        """Replace the record of an existing tuned model."""
        self.conn.execute("UPDATE models SET record = ? WHERE id = ?", (json.dumps(record), model_id))

    def delete_model(self, model_id: str) -> None:
        """Forget a tuned model, its examples and its permissions."""
        self.conn.execute("DELETE FROM models WHERE id = ?", (model_id,))
        self.conn.execute("DELETE FROM examples WHERE model_id = ?", (model_id,))
        self.conn.execute("DELETE FROM permissions WHERE model_id = ?", (model_id,))

    def examples_json(self, model_id: str) -> str:
        """The stored training examples of a tuned model, as their JSON array (``[]`` when none)."""
        row = self.conn.execute("SELECT examples FROM examples WHERE model_id = ?", (model_id,)).fetchone()
        return "[]" if row is None else str(row[0])

    # permissions ----------------------------------------------------------
    def permissions(self, model_id: str) -> list[dict[str, Any]]:
        """The permissions of a tuned model, in creation order."""
        rows = self.conn.execute(
            "SELECT record FROM permissions WHERE model_id = ? ORDER BY seq", (model_id,)
        ).fetchall()
        return [_loads(row[0]) for row in rows]

    def all_permissions(self) -> dict[str, list[dict[str, Any]]]:
        """Every permission, grouped by tuned model id."""
        out: dict[str, list[dict[str, Any]]] = {}
        rows = self.conn.execute("SELECT model_id, record FROM permissions ORDER BY seq")
        for model_id, record in rows.fetchall():
            out.setdefault(str(model_id), []).append(_loads(record))
        return out

    def put_permission(self, model_id: str, perm_id: str, record: dict[str, Any]) -> None:
        """Insert or replace one permission."""
        existing = self.conn.execute(
            "SELECT seq FROM permissions WHERE model_id = ? AND perm_id = ?", (model_id, perm_id)
        ).fetchone()
        seq = int(existing[0]) if existing else self.next_counter("permission_seq")
        self.conn.execute(
            "INSERT OR REPLACE INTO permissions (model_id, perm_id, seq, record) VALUES (?,?,?,?)",
            (model_id, perm_id, seq, json.dumps(record)),
        )

    def delete_permission(self, model_id: str, perm_id: str) -> None:
        """Remove one permission."""
        self.conn.execute("DELETE FROM permissions WHERE model_id = ? AND perm_id = ?", (model_id, perm_id))

    # callers --------------------------------------------------------------
    def caller(self, credential_hash: str) -> dict[str, Any] | None:
        """Who a credential (by its hash) is, as registered through the admin route."""
        row = self.conn.execute("SELECT record FROM callers WHERE hash = ?", (credential_hash,)).fetchone()
        return None if row is None else _loads(row[0])

    def put_caller(self, credential_hash: str, record: dict[str, Any]) -> None:
        """Register who a credential (by its hash) is."""
        self.conn.execute(
            "INSERT OR REPLACE INTO callers (hash, record) VALUES (?, ?)",
            (credential_hash, json.dumps(record)),
        )

    # faults and failures --------------------------------------------------
    def faults(self) -> list[tuple[int, dict[str, Any]]]:
        """Every injected fault with its row id, oldest first."""
        rows = self.conn.execute("SELECT id, record FROM faults ORDER BY id").fetchall()
        return [(int(row[0]), _loads(row[1])) for row in rows]

    def add_fault(self, record: dict[str, Any]) -> int:
        """Store a fault; returns its id."""
        cur = self.conn.execute("INSERT INTO faults (record) VALUES (?)", (json.dumps(record),))
        return int(cur.lastrowid or 0)

    def update_fault(self, fault_id: int, record: dict[str, Any]) -> None:
        """Replace a fault (its remaining count changes as it fires)."""
        self.conn.execute("UPDATE faults SET record = ? WHERE id = ?", (json.dumps(record), fault_id))

    def delete_fault(self, fault_id: int) -> None:
        """Remove one fault."""
        self.conn.execute("DELETE FROM faults WHERE id = ?", (fault_id,))

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.conn.execute("DELETE FROM faults")

    def failures(self) -> list[dict[str, Any]]:
        """Every forced-failure rule, oldest first."""
        rows = self.conn.execute("SELECT record FROM failures ORDER BY id").fetchall()
        return [_loads(row[0]) for row in rows]

    def add_failure(self, record: dict[str, Any]) -> None:
        """Store a forced-failure rule."""
        self.conn.execute("INSERT INTO failures (record) VALUES (?)", (json.dumps(record),))

    def clear_failures(self) -> None:
        """Remove every forced-failure rule."""
        self.conn.execute("DELETE FROM failures")

    # generic records ------------------------------------------------------
    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """A service's record by kind (``"storage.object"``) and id, or None."""
        row = self.conn.execute(
            "SELECT record FROM records WHERE kind = ? AND id = ?", (kind, record_id)
        ).fetchone()
        return None if row is None else _loads(row[0])

    def records(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """Every record of a kind as ``(id, record)``, in the order they were first stored."""
        rows = self.conn.execute("SELECT id, record FROM records WHERE kind = ? ORDER BY seq", (kind,))
        return [(str(row[0]), _loads(row[1])) for row in rows.fetchall()]

    def put_record(
        self, kind: str, record_id: str, record: dict[str, Any], data: bytes | None = None
    ) -> None:
        """Insert or replace a record (it keeps its place in :meth:`records`), with optional bytes."""
        existing = self.conn.execute(
            "SELECT seq FROM records WHERE kind = ? AND id = ?", (kind, record_id)
        ).fetchone()
        seq = int(existing[0]) if existing else self.next_counter("record_seq")
        self.conn.execute(
            "INSERT OR REPLACE INTO records (kind, id, seq, record, data) VALUES (?, ?, ?, ?, ?)",
            (kind, record_id, seq, json.dumps(record), data),
        )

    def record_data(self, kind: str, record_id: str) -> bytes | None:
        """The bytes stored with a record (None when there are none or no such record)."""
        row = self.conn.execute(
            "SELECT data FROM records WHERE kind = ? AND id = ?", (kind, record_id)
        ).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def delete_record(self, kind: str, record_id: str) -> None:
        """Forget one record."""
        self.conn.execute("DELETE FROM records WHERE kind = ? AND id = ?", (kind, record_id))

    # journal --------------------------------------------------------------
    def append_journal(self, record: dict[str, Any]) -> None:
        """Append one received request to the journal (the newest JOURNAL_LIMIT are kept)."""
        cur = self.conn.execute("INSERT INTO journal (record) VALUES (?)", (json.dumps(record),))
        row_id = int(cur.lastrowid or 0)
        if row_id % 1000 == 0:
            self.conn.execute("DELETE FROM journal WHERE id <= ?", (row_id - JOURNAL_LIMIT,))

    def journal_json(self) -> list[bytes]:
        """Every journaled request as its JSON text (UTF-8), oldest first."""
        rows = self.conn.execute("SELECT record FROM journal ORDER BY id").fetchall()
        return [str(row[0]).encode("utf-8") for row in rows]

    def clear_journal(self) -> None:
        """Forget the journal."""
        self.conn.execute("DELETE FROM journal")

    # everything -----------------------------------------------------------
    def reset(self) -> None:
        """Forget models, examples, permissions, callers, faults, failures, the journal and every
        generic record."""
        for table in (
            "models",
            "examples",
            "permissions",
            "callers",
            "faults",
            "failures",
            "journal",
            "records",
        ):
            self.conn.execute(f"DELETE FROM {table}")


def _loads(text: Any) -> Any:
    return json.loads(str(text))


class Store:
    """A SQLite database file (or memory) shared by every request of one emulator.

    Thread-safe: one connection guarded by a lock; across processes, SQLite's own locking (WAL,
    ``busy_timeout``, ``BEGIN IMMEDIATE``) keeps each request's transaction atomic.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path

    @classmethod
    def open(cls, path: str | Path | None) -> Store:
        """Open (creating if needed) the store at ``path``; ``None`` keeps it in memory.

        Raises OSError when the file's folder cannot be made, ``sqlite3.Error`` (such as
        ``DatabaseError: file is not a database``) when the file is not a usable SQLite database.
        """
        if path is None or str(path) == ":memory:":
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            resolved: Path | None = None
        else:
            resolved = Path(path)
            resolved.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(resolved), check_same_thread=False, isolation_level=None, timeout=30.0)
        try:
            if resolved is not None:
                conn.execute("PRAGMA busy_timeout = 30000")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            # executescript commits implicitly, so the schema is created outside a transaction.
            conn.executescript(SCHEMA)
        except sqlite3.Error:
            conn.close()
            raise
        return cls(conn, resolved)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One atomic unit of work (``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back on error)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    @contextmanager
    def claim(self) -> Iterator[bool]:
        """Hold the store's lock if no one holds it right now; yields whether it is held (then this
        thread's transactions inside the block start at once)."""
        held = self._lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                self._lock.release()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()
