-- Each environment's branch, as configured (written by open_state with the fraises). On
-- PostgreSQL, migration 0070 also adds the deployment request functions that read it
-- (fn_request_deployment, fn_cancel_deployment, fn_retry_deployment); SQLite has no stored
-- functions, and its clients request through Fraisier itself.
ALTER TABLE tb_fraise ADD COLUMN branches TEXT NOT NULL DEFAULT '{}';
