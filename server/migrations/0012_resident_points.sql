-- 0012: points residents hand in through the public pages (docs/api.md,
-- "Residents"). A point is never shown publicly: the public status answer
-- reads only `status`, `updated_at`, `walk_date`, `partner` and
-- `decline_reason` (of the point it was merged into, if merged).
CREATE TABLE resident_points (
    id              INTEGER PRIMARY KEY,
    receipt         TEXT NOT NULL UNIQUE CHECK (length(receipt) = 12),  -- Crockford base32, no dashes
    wijk            TEXT NOT NULL,
    text            TEXT NOT NULL,
    category        TEXT,                                  -- a catalog category id, or NULL
    place           TEXT,                                  -- street and number, as typed
    lat             REAL,
    lon             REAL,
    photo           TEXT,                                  -- a photo's hash (blobs), or NULL
    -- Contact (personal data): only with consent, erased with the point.
    contact_name    TEXT,
    contact_email   TEXT,
    contact_phone   TEXT,
    contact_consent INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'ontvangen' CHECK (status IN
                        ('ontvangen', 'op_agenda', 'bekeken', 'opgepakt', 'afgerond', 'afgewezen')),
    walk_doc        BLOB CHECK (walk_doc IS NULL OR length(walk_doc) = 16),  -- the walk whose agenda holds it
    walk_date       INTEGER,                               -- that walk's planned start (ms)
    observation     TEXT,                                  -- the observation it led to (item id)
    partner         TEXT,                                  -- "opgepakt door": a catalog partner id
    decline_reason  TEXT,                                  -- a fixed reason code (docs/api.md)
    merged_into     INTEGER REFERENCES resident_points(id),
    handled_by      TEXT,                                  -- the last coordinator who changed it
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX resident_points_queue ON resident_points (wijk, status, created_at);
CREATE INDEX resident_points_walk ON resident_points (walk_doc);
CREATE INDEX resident_points_merged ON resident_points (merged_into);

-- Status mails to residents go through the same outbox: a new kind
-- 'resident' (SQLite cannot change a CHECK, so the table is rebuilt).
CREATE TABLE mail_outbox_new (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('feedback', 'forward', 'digest', 'resident')),
    doc_id          TEXT,
    item_id         TEXT,
    partner         TEXT,
    template        TEXT,
    with_contact    INTEGER NOT NULL DEFAULT 0,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_by      TEXT,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    doc_edit_pending INTEGER NOT NULL DEFAULT 0,
    for_user        TEXT
);
INSERT INTO mail_outbox_new (id, message_id, kind, doc_id, item_id, partner, template, with_contact,
    recipient, subject, body, created_by, created_at, status, attempts, next_attempt_at, last_error,
    sent_at, doc_edit_pending, for_user)
SELECT id, message_id, kind, doc_id, item_id, partner, template, with_contact,
    recipient, subject, body, created_by, created_at, status, attempts, next_attempt_at, last_error,
    sent_at, doc_edit_pending, for_user FROM mail_outbox;
DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_new RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_item ON mail_outbox (doc_id, item_id);
CREATE INDEX mail_outbox_digest ON mail_outbox (kind, for_user, created_at);
