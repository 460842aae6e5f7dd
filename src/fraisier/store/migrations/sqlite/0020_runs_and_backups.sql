-- Runs of ETL scripts and scheduled jobs, and the backups taken, per fraise/environment.

CREATE TABLE tb_run (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    fraise           TEXT NOT NULL,
    environment      TEXT NOT NULL,
    kind             TEXT NOT NULL,           -- etl, job, backup
    name             TEXT NOT NULL,           -- the job name ('script' for an ETL run)
    trigger          TEXT NOT NULL,           -- deploy, cli, schedule, dependency
    status           TEXT NOT NULL,           -- running, succeeded, failed, timed_out
    release          TEXT,
    deployment_id    INTEGER,
    scheduled_for    TEXT,
    started_at       TEXT NOT NULL,
    completed_at     TEXT,
    duration_seconds REAL,
    exit_code        INTEGER,
    output_tail      TEXT NOT NULL DEFAULT '',
    error            TEXT,
    owner            TEXT
);
-- Never two runs of one job at once, whoever starts them: the database refuses the second.
CREATE UNIQUE INDEX ux_run_running ON tb_run (fraise, environment, kind, name)
    WHERE status = 'running';
CREATE INDEX ix_run_target ON tb_run (fraise, environment, name, id);

CREATE TABLE tb_backup (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    fraise           TEXT NOT NULL,
    environment      TEXT NOT NULL,
    job              TEXT NOT NULL,
    kind             TEXT NOT NULL,           -- postgres, sqlite, command
    status           TEXT NOT NULL,           -- running, good, failed, pruned
    path             TEXT,
    sha256           TEXT,
    size_bytes       INTEGER,
    verify           TEXT NOT NULL DEFAULT 'none',
    verified         TEXT,                    -- ok, failed, or null when not verified
    verify_detail    TEXT,
    synced           TEXT,
    run_id           INTEGER,
    deployment_id    INTEGER,
    started_at       TEXT NOT NULL,
    completed_at     TEXT,
    error            TEXT
);
CREATE INDEX ix_backup_target ON tb_backup (fraise, environment, job, id);
