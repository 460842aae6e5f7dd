-- "Who asked for this deployment" is read from the audit log by deployment id (the releases
-- and deployment views show it for every row they list).
CREATE INDEX ix_audit_deployment ON tb_audit (deployment_id);
