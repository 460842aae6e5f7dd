-- Daily rollups of finished deployments, kept by a trigger, so statistics over N days read
-- a few thousand rows instead of every deployment. "Finished" is what statistics count:
-- succeeded, failed, rolled_back, rollback_failed, interrupted.
-- Durations go into buckets (lower bound, seconds): 1 s below a minute, 5 s below ten
-- minutes, 30 s below an hour, 5 min above; they locate the 95th percentile.

CREATE TABLE tb_deployment_daily (
    day          TEXT NOT NULL,
    fraise       TEXT NOT NULL,
    environment  TEXT NOT NULL,
    status       TEXT NOT NULL,
    deployments  BIGINT NOT NULL,
    timed        BIGINT NOT NULL,
    duration_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, fraise, environment, status)
);

CREATE TABLE tb_deployment_duration_daily (
    day          TEXT NOT NULL,
    fraise       TEXT NOT NULL,
    environment  TEXT NOT NULL,
    bucket       INTEGER NOT NULL,
    deployments  BIGINT NOT NULL,
    PRIMARY KEY (day, fraise, environment, bucket)
);

CREATE FUNCTION fraisier_duration_bucket(d DOUBLE PRECISION) RETURNS INTEGER
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN d < 60 THEN floor(d)::int
                WHEN d < 600 THEN (floor(d / 5) * 5)::int
                WHEN d < 3600 THEN (floor(d / 30) * 30)::int
                ELSE (floor(d / 300) * 300)::int END
$$;

CREATE FUNCTION fraisier_counted(status TEXT) RETURNS BOOLEAN LANGUAGE sql IMMUTABLE AS $$
    SELECT status IN ('succeeded', 'failed', 'rolled_back', 'rollback_failed', 'interrupted')
$$;

CREATE FUNCTION fraisier_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An update of any rolled-up column takes the old row out and puts the new one in.
    IF TG_OP = 'UPDATE' AND fraisier_counted(OLD.status) THEN
        UPDATE tb_deployment_daily
           SET deployments = deployments - 1,
               timed = timed - (OLD.duration_seconds IS NOT NULL)::int,
               duration_sum = duration_sum - COALESCE(OLD.duration_seconds, 0)
         WHERE day = substr(OLD.queued_at, 1, 10) AND fraise = OLD.fraise
           AND environment = OLD.environment AND status = OLD.status;
        IF OLD.duration_seconds IS NOT NULL THEN
            UPDATE tb_deployment_duration_daily SET deployments = deployments - 1
             WHERE day = substr(OLD.queued_at, 1, 10) AND fraise = OLD.fraise
               AND environment = OLD.environment
               AND bucket = fraisier_duration_bucket(OLD.duration_seconds);
        END IF;
    END IF;
    IF fraisier_counted(NEW.status) THEN
        INSERT INTO tb_deployment_daily AS r (day, fraise, environment, status, deployments,
                                             timed, duration_sum)
        VALUES (substr(NEW.queued_at, 1, 10), NEW.fraise, NEW.environment, NEW.status, 1,
                (NEW.duration_seconds IS NOT NULL)::int, COALESCE(NEW.duration_seconds, 0))
        ON CONFLICT (day, fraise, environment, status) DO UPDATE
           SET deployments = r.deployments + 1, timed = r.timed + excluded.timed,
               duration_sum = r.duration_sum + excluded.duration_sum;
        IF NEW.duration_seconds IS NOT NULL THEN
            INSERT INTO tb_deployment_duration_daily AS r (day, fraise, environment, bucket,
                                                          deployments)
            VALUES (substr(NEW.queued_at, 1, 10), NEW.fraise, NEW.environment,
                    fraisier_duration_bucket(NEW.duration_seconds), 1)
            ON CONFLICT (day, fraise, environment, bucket) DO UPDATE
               SET deployments = r.deployments + 1;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tr_deployment_rollup
AFTER INSERT OR UPDATE OF status, duration_seconds, queued_at, fraise, environment
ON tb_deployment FOR EACH ROW EXECUTE FUNCTION fraisier_rollup();

-- The exact 95th percentile is read inside one bucket: a short range of this index.
CREATE INDEX ix_deployment_duration ON tb_deployment (duration_seconds, queued_at, status);

INSERT INTO tb_deployment_daily (day, fraise, environment, status, deployments, timed,
                                 duration_sum)
SELECT substr(queued_at, 1, 10), fraise, environment, status, COUNT(*),
       COUNT(duration_seconds), COALESCE(SUM(duration_seconds), 0)
FROM tb_deployment WHERE fraisier_counted(status)
GROUP BY 1, 2, 3, 4;

INSERT INTO tb_deployment_duration_daily (day, fraise, environment, bucket, deployments)
SELECT substr(queued_at, 1, 10), fraise, environment,
       fraisier_duration_bucket(duration_seconds), COUNT(*)
FROM tb_deployment WHERE fraisier_counted(status) AND duration_seconds IS NOT NULL
GROUP BY 1, 2, 3, 4;
