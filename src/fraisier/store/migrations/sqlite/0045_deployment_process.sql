-- The commands a deployment is running now, one row each while it runs. A worker killed
-- with `kill -9` leaves its commands running in their own process groups; recovery reads
-- these rows to stop them before it decides what to undo.
CREATE TABLE tb_deployment_process (
    id            INTEGER PRIMARY KEY,
    deployment_id INTEGER NOT NULL REFERENCES tb_deployment (id),
    pid           INTEGER NOT NULL,  -- also the process group id (own session)
    start_ticks   INTEGER NOT NULL,  -- /proc/PID/stat field 22: tells a reused pid apart
    hostname      TEXT NOT NULL,
    label         TEXT NOT NULL,
    started_at    TEXT NOT NULL
);
CREATE INDEX ix_deployment_process ON tb_deployment_process (deployment_id);
