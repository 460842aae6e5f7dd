-- Fraisier state, SQLite. Write tables (tb_) are append-mostly; reads go through views (v_).

CREATE TABLE tb_fraise (
    name        TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    repository  TEXT NOT NULL DEFAULT '',
    environments TEXT NOT NULL DEFAULT '[]',
    updated_at  TEXT NOT NULL
);

CREATE TABLE tb_webhook_event (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at   TEXT NOT NULL,
    provider      TEXT NOT NULL DEFAULT '',
    event_type    TEXT NOT NULL DEFAULT '',
    delivery_id   TEXT,
    repository    TEXT NOT NULL DEFAULT '',
    ref           TEXT NOT NULL DEFAULT '',
    branch        TEXT,
    tag           TEXT,
    commit_sha    TEXT,
    sender        TEXT NOT NULL DEFAULT '',
    body_digest   TEXT,
    source_ip     TEXT NOT NULL DEFAULT '',
    outcome       TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    payload       TEXT,
    deployment_ids TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX ix_webhook_event_delivery ON tb_webhook_event (provider, delivery_id);
CREATE INDEX ix_webhook_event_digest ON tb_webhook_event (body_digest, received_at);
CREATE INDEX ix_webhook_event_received ON tb_webhook_event (received_at);

CREATE TABLE tb_git_commit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    fraise       TEXT NOT NULL,
    sha          TEXT NOT NULL,
    branch       TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL DEFAULT '',
    author       TEXT NOT NULL DEFAULT '',
    committed_at TEXT NOT NULL DEFAULT '',
    seen_at      TEXT NOT NULL,
    UNIQUE (fraise, sha)
);

-- This table is the queue.
CREATE TABLE tb_deployment (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    fraise           TEXT NOT NULL,
    environment      TEXT NOT NULL,
    status           TEXT NOT NULL,
    trigger          TEXT NOT NULL,
    requested_commit TEXT,
    commit_sha       TEXT,
    branch           TEXT NOT NULL DEFAULT '',
    release          TEXT,
    previous_release TEXT,
    force            INTEGER NOT NULL DEFAULT 0,
    options          TEXT NOT NULL DEFAULT '{}',
    queued_at        TEXT NOT NULL,
    started_at       TEXT,
    completed_at     TEXT,
    duration_seconds REAL,
    error            TEXT,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    superseded_by    INTEGER,
    retry_of         INTEGER,
    webhook_event_id INTEGER
);
-- The invariant the whole queue leans on: one running deployment per environment.
CREATE UNIQUE INDEX ux_deployment_running ON tb_deployment (fraise, environment)
    WHERE status = 'running';
CREATE INDEX ix_deployment_target ON tb_deployment (fraise, environment, id);
CREATE INDEX ix_deployment_status ON tb_deployment (status, id);
CREATE INDEX ix_deployment_queued_at ON tb_deployment (queued_at);

CREATE TABLE tb_deployment_step (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id       INTEGER NOT NULL REFERENCES tb_deployment (id),
    position            INTEGER NOT NULL,
    name                TEXT NOT NULL,
    status              TEXT NOT NULL,
    started_at          TEXT,
    completed_at        TEXT,
    output_tail         TEXT NOT NULL DEFAULT '',
    error               TEXT,
    compensation_status TEXT,
    compensation_error  TEXT,
    data                TEXT NOT NULL DEFAULT '{}',
    UNIQUE (deployment_id, position)
);

CREATE TABLE tb_deployment_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id INTEGER NOT NULL REFERENCES tb_deployment (id),
    logged_at     TEXT NOT NULL,
    stream        TEXT NOT NULL DEFAULT 'stdout',
    line          TEXT NOT NULL
);
CREATE INDEX ix_deployment_log ON tb_deployment_log (deployment_id, id);

CREATE TABLE tb_release (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    fraise        TEXT NOT NULL,
    environment   TEXT NOT NULL,
    host          TEXT NOT NULL DEFAULT '',
    release_id    TEXT NOT NULL,
    commit_sha    TEXT NOT NULL,
    path          TEXT NOT NULL,
    status        TEXT NOT NULL,
    deployment_id INTEGER,
    created_at    TEXT NOT NULL,
    activated_at  TEXT,
    UNIQUE (fraise, environment, host, release_id)
);

-- Append-only outbox of every state change and log line; subscribers resume by id.
CREATE TABLE tb_event (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT NOT NULL,
    type          TEXT NOT NULL,
    deployment_id INTEGER,
    fraise        TEXT,
    environment   TEXT,
    payload       TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE tb_worker (
    name         TEXT PRIMARY KEY,
    hostname     TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

CREATE VIEW v_deployment_history AS
SELECT d.id, d.fraise, d.environment, d.status, d.trigger, d.commit_sha, d.requested_commit,
       d.branch, d.release, d.previous_release, d.queued_at, d.started_at, d.completed_at,
       d.duration_seconds, d.error, d.superseded_by, d.retry_of, d.webhook_event_id,
       d.lease_owner, d.lease_expires_at
FROM tb_deployment d;

CREATE VIEW v_fraise_status AS
SELECT d.fraise, d.environment, d.id AS last_deployment_id, d.status AS last_status,
       d.commit_sha AS last_commit_sha, d.completed_at AS last_completed_at,
       (SELECT r.release_id FROM tb_release r
         WHERE r.fraise = d.fraise AND r.environment = d.environment AND r.host = ''
           AND r.status = 'active' ORDER BY r.id DESC LIMIT 1) AS current_release,
       (SELECT r.commit_sha FROM tb_release r
         WHERE r.fraise = d.fraise AND r.environment = d.environment AND r.host = ''
           AND r.status = 'active' ORDER BY r.id DESC LIMIT 1) AS current_commit_sha
FROM tb_deployment d
WHERE d.id IN (SELECT MAX(id) FROM tb_deployment GROUP BY fraise, environment);

CREATE VIEW v_deployment_stats AS
SELECT fraise, environment,
       COUNT(*) AS total,
       SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded,
       SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
       SUM(CASE WHEN status = 'rolled_back' THEN 1 ELSE 0 END) AS rolled_back,
       SUM(CASE WHEN status = 'rollback_failed' THEN 1 ELSE 0 END) AS rollback_failed,
       AVG(duration_seconds) AS average_duration_seconds,
       MAX(queued_at) AS last_queued_at
FROM tb_deployment
GROUP BY fraise, environment;
