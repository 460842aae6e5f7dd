-- ix_deployment_stats (queued_at, status, duration_seconds) begins with queued_at, so it
-- serves every lookup and range by queued_at that ix_deployment_queued_at served (and the
-- statistics' scans from it alone). The narrower index was one more tree to update on every
-- deployment queued.
DROP INDEX IF EXISTS ix_deployment_queued_at;
