-- The notifier: its durable place in the tb_event outbox, the deliveries it owes (one per
-- event and channel: chat channels, commit statuses, deployments, issues), every attempt at
-- one, and what it created on a provider that later events refer to (a GitHub deployment,
-- the open issue of a failing environment).

CREATE TABLE tb_notifier_cursor (
    name        TEXT PRIMARY KEY,
    floor       INTEGER NOT NULL,
    delivered   TEXT NOT NULL DEFAULT '[]',  -- event ids above the floor already planned
    updated_at  TEXT NOT NULL
);

CREATE TABLE tb_notification (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      TEXT NOT NULL,
    event_id        INTEGER NOT NULL,
    event           TEXT NOT NULL,      -- deployment.failed, run.failed, ...
    deployment_id   INTEGER,
    fraise          TEXT,
    environment     TEXT,
    channel         TEXT NOT NULL,      -- a channel's name, or github:status, gitlab:issue, ...
    kind            TEXT NOT NULL,      -- message, commit_status, deployment, issue
    payload         TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL,      -- pending, delivered, failed (gave up), skipped
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until   TEXT,
    completed_at    TEXT,
    last_error      TEXT,
    UNIQUE (event_id, channel)
);
CREATE INDEX ix_notification_due ON tb_notification (next_attempt_at) WHERE status = 'pending';
CREATE INDEX ix_notification_deployment ON tb_notification (deployment_id);

CREATE TABLE tb_notification_attempt (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id  INTEGER NOT NULL REFERENCES tb_notification (id) ON DELETE CASCADE,
    created_at       TEXT NOT NULL,
    channel          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    event            TEXT NOT NULL,
    event_id         INTEGER NOT NULL,
    deployment_id    INTEGER,
    attempt          INTEGER NOT NULL,
    status           TEXT NOT NULL,     -- delivered, failed (will retry), gave_up, skipped
    http_status      INTEGER,
    error            TEXT,
    duration_seconds REAL NOT NULL,
    next_retry_at    TEXT,
    UNIQUE (notification_id, attempt)
);
CREATE INDEX ix_notification_attempt_deployment ON tb_notification_attempt (deployment_id);

CREATE TABLE tb_notification_link (
    key         TEXT PRIMARY KEY,       -- e.g. github-deployment:42, issue:gitlab:acme/web:web/production
    external_id TEXT NOT NULL,
    url         TEXT,
    created_at  TEXT NOT NULL
);

-- The notifier starts where the outbox is when notifications arrive: history already there
-- is not announced, and nothing written after this upgrade is missed, even before a
-- notifier first runs.
INSERT INTO tb_notifier_cursor (name, floor, delivered, updated_at)
SELECT 'notifier', COALESCE(MAX(id), 0), '[]', strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM tb_event;
