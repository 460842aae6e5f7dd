"""tb_preview: the preview environments of pull requests, open and removed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fraisier.domain.previews import PreviewStatus
from fraisier.store.db import Database, Row


@dataclass(frozen=True)
class PreviewRecord:
    fraise: str
    number: int
    environment: str
    status: str
    provider: str
    repository: str
    title: str
    pull_url: str
    head_branch: str
    head_sha: str
    url: str
    port: int
    database: str
    comment_id: str | None
    opened_at: str
    updated_at: str
    removed_at: str | None
    reason: str

    @classmethod
    def from_row(cls, row: Row) -> PreviewRecord:
        return cls(**{key: row[key] for key in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Previews:
    def __init__(self, db: Database):
        self.db = db

    def get(self, fraise: str, number: int) -> PreviewRecord | None:
        row = self.db.fetchone("SELECT * FROM tb_preview WHERE fraise = ? AND number = ?",
                               (fraise, number))
        return PreviewRecord.from_row(row) if row else None

    def find(self, *, fraise: str | None = None, status: str | None = None
             ) -> list[PreviewRecord]:
        sql, params = "SELECT * FROM tb_preview WHERE 1 = 1", []
        if fraise is not None:
            sql += " AND fraise = ?"
            params.append(fraise)
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        rows = self.db.fetchall(sql + " ORDER BY fraise, number", params)
        return [PreviewRecord.from_row(row) for row in rows]

    def open_previews(self, fraise: str) -> list[PreviewRecord]:
        """Previews that hold a port and a database: active, or being removed."""
        rows = self.db.fetchall("SELECT * FROM tb_preview WHERE fraise = ? AND status <> ?"
                                " ORDER BY number", (fraise, PreviewStatus.REMOVED.value))
        return [PreviewRecord.from_row(row) for row in rows]

    def save_open(self, *, fraise: str, number: int, environment: str, provider: str,
                  repository: str, title: str, pull_url: str, head_branch: str,
                  head_sha: str, url: str, port: int, database: str, now: str) -> None:
        """Create the preview, or bring a removed one back (its comment is reused)."""
        self.db.execute(
            "INSERT INTO tb_preview (fraise, number, environment, status, provider, repository,"
            " title, pull_url, head_branch, head_sha, url, port, database, opened_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (fraise, number) DO UPDATE SET status = excluded.status,"
            " provider = excluded.provider, repository = excluded.repository,"
            " title = excluded.title, pull_url = excluded.pull_url,"
            " head_branch = excluded.head_branch, head_sha = excluded.head_sha,"
            " url = excluded.url, port = excluded.port, database = excluded.database,"
            " opened_at = CASE WHEN tb_preview.status = 'removed' THEN excluded.opened_at"
            "   ELSE tb_preview.opened_at END,"
            " updated_at = excluded.updated_at, removed_at = NULL, reason = ''",
            (fraise, number, environment, PreviewStatus.ACTIVE.value, provider, repository,
             title[:300], pull_url[:500], head_branch, head_sha, url, port, database, now,
             now))

    def new_head(self, fraise: str, number: int, head_sha: str, now: str) -> None:
        """A new commit: the idle clock of the TTL starts again."""
        self.db.execute("UPDATE tb_preview SET head_sha = ?, updated_at = ? WHERE fraise = ?"
                        " AND number = ?", (head_sha, now, fraise, number))

    def set_status(self, fraise: str, number: int, status: PreviewStatus, *, reason: str = "",
                   now: str | None = None) -> None:
        self.db.execute(
            "UPDATE tb_preview SET status = ?, reason = ?, removed_at = ? WHERE fraise = ?"
            " AND number = ?",
            (status.value, reason[:500], now if status is PreviewStatus.REMOVED else None,
             fraise, number))

    def set_comment(self, fraise: str, number: int, comment_id: str) -> None:
        self.db.execute("UPDATE tb_preview SET comment_id = ? WHERE fraise = ? AND number = ?",
                        (comment_id, fraise, number))

    def idle_since(self, before: str) -> list[PreviewRecord]:
        """Active previews without a new commit since `before` (a UTC timestamp)."""
        rows = self.db.fetchall("SELECT * FROM tb_preview WHERE status = ? AND updated_at < ?"
                                " ORDER BY fraise, number", (PreviewStatus.ACTIVE.value, before))
        return [PreviewRecord.from_row(row) for row in rows]
