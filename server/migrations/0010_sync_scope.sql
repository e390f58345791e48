-- 0010: sync scope. What a device replicates is decided by the server from
-- three small tables, kept in step by the document commit (see
-- docs/sync-protocol.md, "Scope"):
--   doc_schedule          the dates of a walk or spreekuur session, read from
--                         the document at every commit that changes it;
--   doc_members           who created, wrote to, or staffs a document;
--   device_subscriptions  documents a device opened (subscribe frame, an
--                         implicit subscribe, or creating the document).

CREATE TABLE doc_schedule (
    doc_id      BLOB PRIMARY KEY REFERENCES documents(id),
    planned_at  INTEGER,                            -- walk planned_at, spreekuur held_on (ms)
    started     INTEGER NOT NULL DEFAULT 0,         -- walk started, spreekuur has a note
    running     INTEGER NOT NULL DEFAULT 0,         -- walk started and not ended
    last_at     INTEGER                             -- walk ended_at / started_at / planned_at, spreekuur held_on
) WITHOUT ROWID;
CREATE INDEX doc_schedule_planned ON doc_schedule(started, planned_at);

CREATE TABLE doc_members (
    user_id     TEXT NOT NULL,
    doc_id      BLOB NOT NULL REFERENCES documents(id),
    PRIMARY KEY (user_id, doc_id)
) WITHOUT ROWID;

CREATE TABLE device_subscriptions (
    device_id   TEXT NOT NULL,
    doc_id      BLOB NOT NULL REFERENCES documents(id),
    opened_at   INTEGER NOT NULL,                   -- ms; the subscription lapses sync.subscription_ttl_days later
    PRIMARY KEY (device_id, doc_id)
) WITHOUT ROWID;

-- Members of the documents that already exist: their creators and everyone
-- whose changes are stored. Their dates are read at their next change; until
-- then the creation time stands in for them.
INSERT OR IGNORE INTO doc_members (user_id, doc_id) SELECT owner, id FROM documents;
INSERT OR IGNORE INTO doc_members (user_id, doc_id) SELECT DISTINCT user_id, doc_id FROM changes;
