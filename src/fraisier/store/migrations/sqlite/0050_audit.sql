-- The audit log: every action that changes something, who did it, from where, the outcome.
-- Append-only: the triggers refuse any UPDATE or DELETE, whoever asks.
CREATE TABLE tb_audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    actor_kind    TEXT NOT NULL,
    source        TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    subject       TEXT NOT NULL DEFAULT '',
    deployment_id INTEGER,
    outcome       TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ix_audit_action ON tb_audit (action, id);

CREATE TRIGGER tr_audit_no_update BEFORE UPDATE ON tb_audit
BEGIN
    SELECT RAISE(ABORT, 'tb_audit is append-only');
END;

CREATE TRIGGER tr_audit_no_delete BEFORE DELETE ON tb_audit
BEGIN
    SELECT RAISE(ABORT, 'tb_audit is append-only');
END;
