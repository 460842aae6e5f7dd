-- The health of each environment's live release, as the worker last saw it between
-- deployments (health_check.watch_interval): one row per environment, `since` moves only when
-- `ok` changes, and each change is also an event in tb_event (health.changed).
CREATE TABLE tb_health (
    fraise      TEXT NOT NULL,
    environment TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    checked_at  TEXT NOT NULL,
    since       TEXT NOT NULL,
    PRIMARY KEY (fraise, environment)
);
