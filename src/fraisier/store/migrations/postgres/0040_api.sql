-- API tokens (only a hash is stored), read views for the GraphQL and FraiseQL readers,
-- and indexes for the API's hot reads.

CREATE TABLE tb_api_token (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE INDEX ix_deployment_fraise_status ON tb_deployment (fraise, status, id);
CREATE INDEX ix_deployment_stats ON tb_deployment (queued_at, status, duration_seconds);

CREATE VIEW v_webhook_event AS
SELECT id, received_at, provider, event_type, delivery_id, repository, ref, branch, tag,
       commit_sha, sender, outcome, reason, deployment_ids
FROM tb_webhook_event;

CREATE VIEW v_release AS
SELECT id, fraise, environment, host, release_id, commit_sha, status, deployment_id,
       created_at, activated_at
FROM tb_release;

-- FraiseQL reads one JSONB `data` column per row (its convention); these views wrap the
-- read views above so a FraiseQL server can serve the same state, read-only.
CREATE VIEW v_fraiseql_deployment AS
SELECT id, fraise, environment, status,
       jsonb_build_object(
         'id', id, 'fraise_id', fraise, 'environment', environment, 'status', status,
         'trigger', trigger, 'commit_sha', COALESCE(commit_sha, requested_commit),
         'branch', branch, 'release', release, 'previous_release', previous_release,
         'queued_at', queued_at, 'started_at', started_at, 'completed_at', completed_at,
         'duration_seconds', duration_seconds, 'error_message', error,
         'retry_of', retry_of, 'superseded_by', superseded_by) AS data
FROM v_deployment_history;

CREATE VIEW v_fraiseql_fraise_status AS
SELECT fraise || '/' || environment AS id, fraise, environment,
       jsonb_build_object(
         'id', fraise || '/' || environment, 'fraise_id', fraise, 'environment', environment,
         'last_deployment_id', last_deployment_id, 'last_status', last_status,
         'last_commit_sha', last_commit_sha, 'last_completed_at', last_completed_at,
         'current_release', current_release, 'current_commit_sha', current_commit_sha) AS data
FROM v_fraise_status;

CREATE VIEW v_fraiseql_deployment_stats AS
SELECT fraise || '/' || environment AS id, fraise, environment,
       jsonb_build_object(
         'id', fraise || '/' || environment, 'fraise_id', fraise, 'environment', environment,
         'total', total, 'succeeded', succeeded, 'failed', failed,
         'rolled_back', rolled_back, 'rollback_failed', rollback_failed,
         'average_duration_seconds', average_duration_seconds,
         'last_queued_at', last_queued_at) AS data
FROM v_deployment_stats;

CREATE VIEW v_fraiseql_webhook_event AS
SELECT id, provider, outcome,
       jsonb_build_object(
         'id', id, 'provider', provider, 'event_type', event_type,
         'delivery_id', delivery_id, 'repository', repository, 'branch', branch,
         'commit_sha', commit_sha, 'received_at', received_at, 'outcome', outcome,
         'reason', reason) AS data
FROM v_webhook_event;

CREATE VIEW v_fraiseql_release AS
SELECT id, fraise, environment, status,
       jsonb_build_object(
         'id', id, 'release_id', release_id, 'fraise_id', fraise, 'environment', environment,
         'host', host, 'commit_sha', commit_sha, 'status', status,
         'deployment_id', deployment_id, 'created_at', created_at,
         'activated_at', activated_at) AS data
FROM v_release;

-- deploymentLogs(id) replays one deployment's events from the outbox.
CREATE INDEX ix_event_deployment ON tb_event (deployment_id, id);
