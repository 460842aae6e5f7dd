-- Preview environments: one row per (fraise, pull request). The environment `pr-<number>`
-- itself lives in tb_deployment and tb_release like any other; this row says whether it is
-- open, what it was made from and the one pull-request comment that reports it. A removed
-- preview keeps its row (and its deployments) as history; a reopened one reuses it.
CREATE TABLE tb_preview (
    fraise       TEXT NOT NULL,
    number       INTEGER NOT NULL,
    environment  TEXT NOT NULL,
    status       TEXT NOT NULL,
    provider     TEXT NOT NULL DEFAULT '',
    repository   TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL DEFAULT '',
    pull_url     TEXT NOT NULL DEFAULT '',
    head_branch  TEXT NOT NULL DEFAULT '',
    head_sha     TEXT NOT NULL DEFAULT '',
    url          TEXT NOT NULL DEFAULT '',
    port         INTEGER NOT NULL,
    database     TEXT NOT NULL DEFAULT '',
    comment_id   TEXT,
    opened_at    TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    removed_at   TEXT,
    reason       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (fraise, number)
);
CREATE INDEX ix_preview_status ON tb_preview (status, fraise);
