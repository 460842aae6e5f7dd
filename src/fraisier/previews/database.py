"""A preview's own PostgreSQL database: created from a template database (a file-level copy
made by the server, seconds even for a large database) or from the newest verified backup,
and dropped with the preview. Names reach SQL as quoted identifiers, never as text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fraisier.domain.redaction import url_without_password

if TYPE_CHECKING:
    import psycopg

    from fraisier.config.previews import PreviewDatabase
    from fraisier.store import Store

CONNECT_TIMEOUT = 10


class PreviewDatabaseError(Exception):
    """The database could not be created or dropped; the message names it and why."""


def _connect(admin_url: str) -> psycopg.Connection:
    import psycopg

    try:
        return psycopg.connect(admin_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.Error as exc:
        raise PreviewDatabaseError(f"cannot connect to {url_without_password(admin_url)}: "
                                   f"{str(exc).strip()}") from None


def exists(database: PreviewDatabase) -> bool:
    with _connect(database.admin_url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (database.name,)).fetchone() is not None


def create(database: PreviewDatabase, store: Store) -> str:
    """Create the preview's database; what it was made from. Assumes it does not exist."""
    import psycopg
    from psycopg import sql

    name = sql.Identifier(database.name)
    with _connect(database.admin_url) as conn:
        try:
            if database.template is not None:
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    name, sql.Identifier(database.template)))
                return f"a copy of the template database {database.template}"
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
        except psycopg.Error as exc:
            hint = (" (a template is copied only while nobody is connected to it)"
                    if "being accessed by other users" in str(exc) else "")
            raise PreviewDatabaseError(
                f"CREATE DATABASE {database.name}: {str(exc).strip()}{hint}") from None
    return _restore_newest_backup(database, store)


def _restore_newest_backup(database: PreviewDatabase, store: Store) -> str:
    from fraisier.kinds.backups import BackupError, restore_backup

    assert database.from_backup is not None
    good = [b for b in store.backups.list(database.from_backup, status="good", limit=50)
            if b.kind == "postgres" and b.verified == "ok"]
    if not good:
        drop(database)
        raise PreviewDatabaseError(
            f"no verified postgres backup of {database.from_backup!r} to restore into "
            f"{database.name} (see `fraisier backups {database.from_backup}`)")
    try:
        restore_backup(good[0], database.url)
    except BackupError as exc:
        drop(database)
        raise PreviewDatabaseError(f"restoring backup {good[0].id} into {database.name}: "
                                   f"{exc}") from None
    return f"backup {good[0].id} of {database.from_backup} (taken {good[0].started_at})"


def drop(database: PreviewDatabase) -> bool:
    """Drop the database, ending its sessions (PostgreSQL 13+); False if it did not exist."""
    import psycopg
    from psycopg import sql

    with _connect(database.admin_url) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                        (database.name,)).fetchone() is None:
            return False
        try:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database.name)))
        except psycopg.Error as exc:
            raise PreviewDatabaseError(f"DROP DATABASE {database.name}: "
                                       f"{str(exc).strip()}") from None
    return True
