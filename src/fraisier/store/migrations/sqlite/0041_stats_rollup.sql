-- Daily rollups of finished deployments, kept by triggers, so statistics over N days read
-- a few thousand rows instead of every deployment. "Finished" is what statistics count:
-- succeeded, failed, rolled_back, rollback_failed, interrupted.
-- Durations go into buckets (lower bound, seconds): 1 s below a minute, 5 s below ten
-- minutes, 30 s below an hour, 5 min above; they locate the 95th percentile.

CREATE TABLE tb_deployment_daily (
    day          TEXT NOT NULL,     -- substr(queued_at, 1, 10)
    fraise       TEXT NOT NULL,
    environment  TEXT NOT NULL,
    status       TEXT NOT NULL,
    deployments  INTEGER NOT NULL,
    timed        INTEGER NOT NULL,  -- how many had a duration
    duration_sum REAL NOT NULL,
    PRIMARY KEY (day, fraise, environment, status)
);

CREATE TABLE tb_deployment_duration_daily (
    day          TEXT NOT NULL,
    fraise       TEXT NOT NULL,
    environment  TEXT NOT NULL,
    bucket       INTEGER NOT NULL,
    deployments  INTEGER NOT NULL,
    PRIMARY KEY (day, fraise, environment, bucket)
);

-- An update of any rolled-up column takes the old row out and puts the new one in.
CREATE TRIGGER tr_deployment_rollup_remove
AFTER UPDATE OF status, duration_seconds, queued_at, fraise, environment ON tb_deployment
WHEN OLD.status IN ('succeeded', 'failed', 'rolled_back', 'rollback_failed', 'interrupted')
BEGIN
    UPDATE tb_deployment_daily
       SET deployments = deployments - 1,
           timed = timed - (OLD.duration_seconds IS NOT NULL),
           duration_sum = duration_sum - COALESCE(OLD.duration_seconds, 0)
     WHERE day = substr(OLD.queued_at, 1, 10) AND fraise = OLD.fraise
       AND environment = OLD.environment AND status = OLD.status;
    UPDATE tb_deployment_duration_daily SET deployments = deployments - 1
     WHERE OLD.duration_seconds IS NOT NULL AND day = substr(OLD.queued_at, 1, 10)
       AND fraise = OLD.fraise AND environment = OLD.environment
       AND bucket = CASE WHEN OLD.duration_seconds < 60 THEN CAST(OLD.duration_seconds AS INTEGER)
                         WHEN OLD.duration_seconds < 600 THEN CAST(OLD.duration_seconds / 5 AS INTEGER) * 5
                         WHEN OLD.duration_seconds < 3600 THEN CAST(OLD.duration_seconds / 30 AS INTEGER) * 30
                         ELSE CAST(OLD.duration_seconds / 300 AS INTEGER) * 300 END;
END;

CREATE TRIGGER tr_deployment_rollup_update
AFTER UPDATE OF status, duration_seconds, queued_at, fraise, environment ON tb_deployment
WHEN NEW.status IN ('succeeded', 'failed', 'rolled_back', 'rollback_failed', 'interrupted')
BEGIN
    INSERT INTO tb_deployment_daily (day, fraise, environment, status, deployments, timed,
                                     duration_sum)
    VALUES (substr(NEW.queued_at, 1, 10), NEW.fraise, NEW.environment, NEW.status, 1,
            NEW.duration_seconds IS NOT NULL, COALESCE(NEW.duration_seconds, 0))
    ON CONFLICT (day, fraise, environment, status) DO UPDATE
       SET deployments = deployments + 1, timed = timed + excluded.timed,
           duration_sum = duration_sum + excluded.duration_sum;
    INSERT INTO tb_deployment_duration_daily (day, fraise, environment, bucket, deployments)
    SELECT substr(NEW.queued_at, 1, 10), NEW.fraise, NEW.environment,
           CASE WHEN NEW.duration_seconds < 60 THEN CAST(NEW.duration_seconds AS INTEGER)
                WHEN NEW.duration_seconds < 600 THEN CAST(NEW.duration_seconds / 5 AS INTEGER) * 5
                WHEN NEW.duration_seconds < 3600 THEN CAST(NEW.duration_seconds / 30 AS INTEGER) * 30
                ELSE CAST(NEW.duration_seconds / 300 AS INTEGER) * 300 END, 1
    WHERE NEW.duration_seconds IS NOT NULL
    ON CONFLICT (day, fraise, environment, bucket) DO UPDATE
       SET deployments = deployments + 1;
END;

CREATE TRIGGER tr_deployment_rollup_insert AFTER INSERT ON tb_deployment
WHEN NEW.status IN ('succeeded', 'failed', 'rolled_back', 'rollback_failed', 'interrupted')
BEGIN
    INSERT INTO tb_deployment_daily (day, fraise, environment, status, deployments, timed,
                                     duration_sum)
    VALUES (substr(NEW.queued_at, 1, 10), NEW.fraise, NEW.environment, NEW.status, 1,
            NEW.duration_seconds IS NOT NULL, COALESCE(NEW.duration_seconds, 0))
    ON CONFLICT (day, fraise, environment, status) DO UPDATE
       SET deployments = deployments + 1, timed = timed + excluded.timed,
           duration_sum = duration_sum + excluded.duration_sum;
    INSERT INTO tb_deployment_duration_daily (day, fraise, environment, bucket, deployments)
    SELECT substr(NEW.queued_at, 1, 10), NEW.fraise, NEW.environment,
           CASE WHEN NEW.duration_seconds < 60 THEN CAST(NEW.duration_seconds AS INTEGER)
                WHEN NEW.duration_seconds < 600 THEN CAST(NEW.duration_seconds / 5 AS INTEGER) * 5
                WHEN NEW.duration_seconds < 3600 THEN CAST(NEW.duration_seconds / 30 AS INTEGER) * 30
                ELSE CAST(NEW.duration_seconds / 300 AS INTEGER) * 300 END, 1
    WHERE NEW.duration_seconds IS NOT NULL
    ON CONFLICT (day, fraise, environment, bucket) DO UPDATE
       SET deployments = deployments + 1;
END;

-- The exact 95th percentile is read inside one bucket: a short range of this index.
CREATE INDEX ix_deployment_duration ON tb_deployment (duration_seconds, queued_at, status);

-- An existing database: roll up what is already there.
INSERT INTO tb_deployment_daily (day, fraise, environment, status, deployments, timed,
                                 duration_sum)
SELECT substr(queued_at, 1, 10), fraise, environment, status, COUNT(*),
       COUNT(duration_seconds), COALESCE(SUM(duration_seconds), 0)
FROM tb_deployment
WHERE status IN ('succeeded', 'failed', 'rolled_back', 'rollback_failed', 'interrupted')
GROUP BY 1, 2, 3, 4;

INSERT INTO tb_deployment_duration_daily (day, fraise, environment, bucket, deployments)
SELECT substr(queued_at, 1, 10), fraise, environment,
       CASE WHEN duration_seconds < 60 THEN CAST(duration_seconds AS INTEGER)
            WHEN duration_seconds < 600 THEN CAST(duration_seconds / 5 AS INTEGER) * 5
            WHEN duration_seconds < 3600 THEN CAST(duration_seconds / 30 AS INTEGER) * 30
            ELSE CAST(duration_seconds / 300 AS INTEGER) * 300 END, COUNT(*)
FROM tb_deployment
WHERE status IN ('succeeded', 'failed', 'rolled_back', 'rollback_failed', 'interrupted')
  AND duration_seconds IS NOT NULL
GROUP BY 1, 2, 3, 4;
