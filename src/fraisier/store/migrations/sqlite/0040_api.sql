-- API tokens (only a hash is stored), read views for the GraphQL and FraiseQL readers,
-- and indexes for the API's hot reads.

CREATE TABLE tb_api_token (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- deploymentHistory(fraiseId, status): newest first within one fraise and status.
CREATE INDEX ix_deployment_fraise_status ON tb_deployment (fraise, status, id);
-- deploymentStatistics(timeRangeDays): a range scan that never visits the table.
CREATE INDEX ix_deployment_stats ON tb_deployment (queued_at, status, duration_seconds);

CREATE VIEW v_webhook_event AS
SELECT id, received_at, provider, event_type, delivery_id, repository, ref, branch, tag,
       commit_sha, sender, outcome, reason, deployment_ids
FROM tb_webhook_event;

CREATE VIEW v_release AS
SELECT id, fraise, environment, host, release_id, commit_sha, status, deployment_id,
       created_at, activated_at
FROM tb_release;

-- deploymentLogs(id) replays one deployment's events from the outbox.
CREATE INDEX ix_event_deployment ON tb_event (deployment_id, id);
