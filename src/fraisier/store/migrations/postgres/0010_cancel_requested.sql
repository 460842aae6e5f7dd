-- `fraisier cancel` on a running deployment sets this; the owner's heartbeat notices and
-- stops the running command, then the saga's compensations run.
ALTER TABLE tb_deployment ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
