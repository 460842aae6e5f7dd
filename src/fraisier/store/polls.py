"""tb_poll and tb_poll_head: who is polling which repository, and the heads last seen."""

from __future__ import annotations

from datetime import timedelta

from fraisier.domain.model import utc_now, utc_timestamp
from fraisier.store.db import Database


class Polls:
    def __init__(self, db: Database):
        self.db = db

    def begin(self, repository: str, owner: str, *, every_seconds: float,
              hold_seconds: float) -> bool:
        """Take the repository for one poll, if nobody holds it and its last poll (by any
        process) began at least `every_seconds` ago. One winner, whatever the number of
        pollers: the row is taken by one conditional upsert."""
        now = utc_now()
        due_before = utc_timestamp(now - timedelta(seconds=every_seconds))
        with self.db.transaction():
            row = self.db.fetchone(
                "INSERT INTO tb_poll (repository, owner, expires_at, checked_at)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (repository) DO UPDATE SET owner = excluded.owner,"
                " expires_at = excluded.expires_at, checked_at = excluded.checked_at"
                " WHERE tb_poll.expires_at < excluded.checked_at AND tb_poll.checked_at <= ?"
                " RETURNING repository",
                (repository, owner, utc_timestamp(now + timedelta(seconds=hold_seconds)),
                 utc_timestamp(now), due_before))
        return row is not None

    def end(self, repository: str, owner: str) -> None:
        with self.db.transaction():
            self.db.execute("UPDATE tb_poll SET expires_at = '' WHERE repository = ?"
                            " AND owner = ?", (repository, owner))

    def last_head(self, fraise: str, environment: str) -> str | None:
        head = self.db.scalar("SELECT head FROM tb_poll_head WHERE fraise = ? AND"
                              " environment = ?", (fraise, environment))
        return None if head is None else str(head)

    def remember(self, fraise: str, environment: str, head: str) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO tb_poll_head (fraise, environment, head, seen_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (fraise, environment) DO UPDATE"
                " SET head = excluded.head, seen_at = excluded.seen_at",
                (fraise, environment, head, utc_timestamp()))

    def last_commit_deployed(self, fraise: str, environment: str) -> str | None:
        """The commit of the newest deployment of this environment that got one."""
        commit = self.db.scalar(
            "SELECT COALESCE(commit_sha, requested_commit) FROM tb_deployment"
            " WHERE fraise = ? AND environment = ? AND trigger <> 'rollback'"
            " AND COALESCE(commit_sha, requested_commit) IS NOT NULL ORDER BY id DESC LIMIT 1",
            (fraise, environment))
        return None if commit is None else str(commit)
