-- 0002: sync scope, the same tables as SQLite's 0010_sync_scope.sql (see
-- docs/sync-protocol.md, "Scope").

CREATE TABLE doc_schedule (
    doc_id      bytea PRIMARY KEY REFERENCES documents(id),
    planned_at  bigint,
    started     boolean NOT NULL DEFAULT false,
    running     boolean NOT NULL DEFAULT false,
    last_at     bigint
);
CREATE INDEX doc_schedule_planned ON doc_schedule(started, planned_at);

CREATE TABLE doc_members (
    user_id     text NOT NULL,
    doc_id      bytea NOT NULL REFERENCES documents(id),
    PRIMARY KEY (user_id, doc_id)
);

CREATE TABLE device_subscriptions (
    device_id   text NOT NULL,
    doc_id      bytea NOT NULL REFERENCES documents(id),
    opened_at   bigint NOT NULL,
    PRIMARY KEY (device_id, doc_id)
);

INSERT INTO doc_members (user_id, doc_id) SELECT owner, id FROM documents ON CONFLICT DO NOTHING;
INSERT INTO doc_members (user_id, doc_id) SELECT DISTINCT user_id, doc_id FROM changes ON CONFLICT DO NOTHING;
