-- Poll mode. tb_poll: one row per polled repository; a poller holds it (owner, expires_at)
-- while its `git ls-remote` runs, so two pollers, in one process or many, never poll one
-- repository at once, and `checked_at` spaces the polls of every process sharing the
-- database. tb_poll_head: the branch head last seen for each polled environment.
CREATE TABLE tb_poll (
    repository TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    checked_at TEXT NOT NULL
);

CREATE TABLE tb_poll_head (
    fraise      TEXT NOT NULL,
    environment TEXT NOT NULL,
    head        TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    PRIMARY KEY (fraise, environment)
);
