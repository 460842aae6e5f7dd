"""One small connection layer over SQLite and PostgreSQL.

Queries are written once, with `?` placeholders; the PostgreSQL side rewrites them to `%s`.
Each thread gets its own connection (SQLite connections must not cross threads, and a
PostgreSQL connection serializes its users), and writes always run inside `transaction()`.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fraisier.domain.redaction import REDACTOR, url_without_password

Row = dict[str, Any]

# SQLite's default limit on bound parameters in one statement (SQLITE_MAX_VARIABLE_NUMBER
# is 32766 since 3.32); kept well below it.
_SQLITE_MAX_PARAMETERS = 16000


class StoreError(Exception):
    """The state database could not do what was asked."""


class StoreUnavailable(StoreError):
    """The state database cannot be reached (the webhook endpoint answers 503)."""


class Conflict(StoreError):
    """A database invariant refused the change (e.g. a second running deployment)."""


def backend_of(url: str) -> str:
    if url.startswith("sqlite:///"):
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgres"
    raise StoreError(f"unsupported state URL {url_without_password(url)!r}: "
                     "use sqlite:///path or postgresql://...")


class _ThreadConnection:
    """One thread's connection, kept in that thread's `threading.local`. When the thread
    ends, its locals are dropped and so is this, which closes the connection: threads that
    live for one deployment (heartbeats, output readers, a batch's hosts) must not leave a
    connection (two or three file descriptors, or a PostgreSQL backend) behind each."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: Any) -> None:
        self.conn = conn  # a sqlite3 or psycopg connection

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass

    __del__ = close


class Database:
    """A handle on the state database: per-thread connections and transactions."""

    def __init__(self, url: str):
        self.url = url
        # Its password is blanked wherever this process writes or answers text.
        REDACTOR.add_url(url)
        self.backend = backend_of(url)
        self._local = threading.local()
        self._all: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        if self.backend == "sqlite":
            self.path = Path(url.removeprefix("sqlite:///"))
            self.path.parent.mkdir(parents=True, exist_ok=True)

    # -- connections -------------------------------------------------------------------
    def _connect(self) -> Any:
        if self.backend == "sqlite":
            try:
                return self._connect_sqlite()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
        import psycopg
        from psycopg.rows import dict_row

        try:
            return psycopg.connect(self.url, autocommit=True, row_factory=dict_row,
                                   connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot connect to the state database: {exc}") from exc

    def _connect_sqlite(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN ourselves, so reads never hold a transaction
        # open and writers take the lock up front (BEGIN IMMEDIATE).
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=30)
        conn.row_factory = _sqlite_dict_row
        conn.execute("PRAGMA busy_timeout=30000")
        # Switching a new file to WAL needs a moment alone with it; two processes opening a
        # fresh database at once can see SQLITE_BUSY here without the busy handler, so retry.
        for attempt in range(50):
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @property
    def conn(self) -> Any:
        held = getattr(self._local, "held", None)
        conn = held.conn if held is not None else None
        if conn is not None and self.backend == "postgres" and (conn.closed or conn.broken):
            # The server went away and came back (or not): try a fresh connection.
            conn = None
        if conn is None:
            conn = self._connect()
            held = _ThreadConnection(conn)
            self._local.held = held
            with self._lock:
                self._all.add(held)
        return conn

    def close(self) -> None:
        with self._lock:
            for held in list(self._all):
                held.close()
            self._all.clear()
        self._local = threading.local()

    # -- statements --------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.backend == "postgres" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement. PostgreSQL text cannot hold NUL; command output and request
        bodies can: U+FFFD is stored in its place on both backends, so they keep the same
        data."""
        try:
            # No parameters: send the text as is (psycopg then allows several statements).
            if not params:
                return self.conn.execute(sql)
            # Inline rather than a call per parameter: this runs for every statement.
            return self.conn.execute(self._sql(sql), [
                p.replace("\x00", "\ufffd") if p.__class__ is str else p for p in params])
        except Exception as exc:
            raise _translate(exc) from exc

    def insert_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                    ) -> None:
        """Insert `rows` (NUL handled as in `execute`). SQLite gets one multi-row VALUES
        statement per chunk rather than a statement per row: the driver gives up and takes
        back the GIL around every statement, and a writer thread that does so per row spends
        its time waiting for the event loop's thread. PostgreSQL gets psycopg's pipelined
        executemany."""
        if not rows:
            return
        one = "(" + ",".join("?" * len(columns)) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        try:
            if self.backend == "postgres":
                self.conn.cursor().executemany(self._sql(head + one), [
                    [p.replace("\x00", "\ufffd") if p.__class__ is str else p for p in row]
                    for row in rows])
                return
            per_statement = max(1, _SQLITE_MAX_PARAMETERS // len(columns))
            for start in range(0, len(rows), per_statement):
                chunk = rows[start:start + per_statement]
                self.conn.execute(head + ",".join([one] * len(chunk)), [
                    p.replace("\x00", "\ufffd") if p.__class__ is str else p
                    for row in chunk for p in row])
        except Exception as exc:
            raise _translate(exc) from exc

    def write_in_batches(self) -> None:
        """Tune this thread's connection for transactions of many multi-row inserts (the
        webhook ingest's batches). SQLite keeps, for each statement inside a transaction,
        the pages it changes until it ends, so that a failing statement alone can be undone
        (its statement journal). Past 64 KiB that journal goes to a temporary file: a batch
        of pushes, whose bodies are about 9 KiB each, created, wrote and deleted one in
        every batch, which was a tenth of the ingest process's time. `temp_store = MEMORY`
        keeps it in memory. (It also keeps this connection's temporary tables and sorts in
        memory; the batch writer has neither.)"""
        if self.backend == "sqlite":
            self.conn.execute("PRAGMA temp_store = MEMORY")

    def reserve_ids(self, table: str, count: int) -> list[int]:
        """`count` ids for rows about to be inserted into `table` (inside a transaction).
        SQLite: the next ones after the AUTOINCREMENT counter, ours because the transaction
        holds the write lock (inserting them moves the counter). PostgreSQL: taken from the
        identity's sequence, so concurrent writers never collide."""
        if count == 0:
            return []
        if self.backend == "sqlite":
            last = self.scalar("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)) or 0
            return list(range(last + 1, last + 1 + count))
        rows = self.fetchall(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id"
                             " FROM generate_series(1, ?)", (count,))
        return [int(row["id"]) for row in rows]

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self.execute(sql, params).fetchall())

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.execute(sql, params).fetchone()
        return row

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.fetchone(sql, params)
        return None if row is None else next(iter(row.values()))

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT ... RETURNING id and give back the id."""
        row = self.fetchone(sql + " RETURNING id", params)
        assert row is not None
        return int(row["id"])

    def check_writable(self) -> None:
        """Raise StoreError unless a write would commit now (for readiness checks).

        An empty transaction proves little: SQLite commits one without touching the disk, so
        a full disk goes unnoticed. SQLite rewrites the header's application id with its own
        value (one page, no row changes); PostgreSQL assigns a transaction id, which fails on
        a read-only standby or when the server cannot write its log.
        """
        with self.transaction():
            if self.backend == "sqlite":
                current = int(self.scalar("PRAGMA application_id") or 0)
                self.execute(f"PRAGMA application_id = {current}")
            else:
                self.scalar("SELECT txid_current()")

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the current transaction commits (now, outside one); dropped on
        rollback. In-process wake-ups use it, so nobody is woken for a row not yet visible."""
        if getattr(self._local, "depth", 0):
            self._local.after_commit.append(callback)
        else:
            callback()

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction. Nested use joins the outer one."""
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield self
            finally:
                self._local.depth = depth
            return
        conn = self.conn
        self._local.depth = 1
        self._local.after_commit = []
        committed = False
        # SQLite: threads of one process queue here instead of in SQLite's busy handler,
        # whose sleeps (up to 100 ms) wreck latency when many threads write at once.
        writer = self._writer if self.backend == "sqlite" else None
        if writer is not None:
            writer.acquire()
        try:
            if self.backend == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                with conn.transaction():
                    yield self
            committed = True
        except Exception as exc:
            raise _translate(exc) from exc
        finally:
            if writer is not None:
                writer.release()
            self._local.depth = 0
            callbacks, self._local.after_commit = self._local.after_commit, []
        if committed:
            for callback in callbacks:
                callback()


def _sqlite_dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


_UNIQUE = re.compile(r"unique|duplicate key", re.IGNORECASE)


def _translate(exc: Exception) -> Exception:
    """Map driver errors onto ours, so callers never import a driver."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, sqlite3.IntegrityError) and _UNIQUE.search(str(exc)):
        return Conflict(str(exc))
    if isinstance(exc, sqlite3.OperationalError):
        return StoreUnavailable(f"state database error: {exc}")
    name = type(exc).__module__
    if name.startswith("psycopg"):
        import psycopg

        if isinstance(exc, psycopg.errors.UniqueViolation):
            return Conflict(str(exc))
        if isinstance(exc, psycopg.OperationalError):
            return StoreUnavailable(f"state database error: {exc}")
    return exc
