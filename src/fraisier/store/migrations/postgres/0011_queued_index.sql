-- Coalescing looks up the queued deployments of one environment on every enqueue; without
-- this index it walks every past deployment of that environment.
CREATE INDEX ix_deployment_queued_env ON tb_deployment (fraise, environment, id)
    WHERE status = 'queued';
