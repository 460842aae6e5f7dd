"""The state database: reachable, every migration applied, writable, and on PostgreSQL
LISTEN/NOTIFY delivering (workers on other machines are woken by it)."""

from __future__ import annotations

from pathlib import Path

from fraisier.doctor.result import Check, failed, passed
from fraisier.kinds.libpq import redact
from fraisier.store.db import Database
from fraisier.store.probe import missing_migrations, notification_arrives, try_write


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def check_state(url: str) -> list[Check]:
    shown = redact(url)
    sqlite_file = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    if sqlite_file is not None and not sqlite_file.is_file():
        # Opening it would create it: the doctor only looks.
        return [failed("state database", f"{shown}: the file does not exist",
                       "start `fraisier serve` or `fraisier worker` once (they create and "
                       "migrate it), or fix state.url / data_dir")]
    try:
        db = Database(url)
        db.scalar("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - whatever stops the connection is the answer
        return [failed("state database", f"{shown}: cannot connect: {first_line(exc)}",
                       "check state.url, that the database server runs, and the credentials")]
    try:
        results = [passed("state database", f"{shown}: reachable")]
        shipped, missing = missing_migrations(db)
        if missing:
            results.append(failed(
                "schema", f"{len(missing)} migration(s) not applied: {', '.join(missing)}",
                "start `fraisier serve` or `fraisier worker` once: they migrate on start"))
            return results  # writing into a schema that is not there would say nothing
        results.append(passed("schema", f"all {shipped} migrations applied"))
        try:
            try_write(db)
            results.append(passed("state writable", "a write was accepted (and rolled back)"))
        except Exception as exc:  # noqa: BLE001
            results.append(failed(
                "state writable", f"a write was refused: {first_line(exc)}",
                "give the fraisier user write access: the file and its directory (SQLite), "
                "INSERT/UPDATE/DELETE and a writable session (PostgreSQL)"))
        if db.backend == "postgres":
            results.append(_listen_notify(db.url))
        return results
    finally:
        db.close()


def _listen_notify(url: str) -> Check:
    try:
        arrived = notification_arrives(url)
    except Exception as exc:  # noqa: BLE001
        return failed("listen/notify", f"refused: {first_line(exc)}",
                      "connect to PostgreSQL directly (a pooler in transaction mode drops "
                      "notifications) with a role whose sessions may write")
    if not arrived:
        return failed("listen/notify", "no notification arrived within 5 s",
                      "connect to PostgreSQL directly, not through a pooler")
    return passed("listen/notify", "a notification arrived")
