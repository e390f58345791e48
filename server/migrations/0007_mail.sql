-- 0007: messages to residents and partners (docs/operations.md, "Mail").
-- `mail_outbox` is the durable queue: a message is written here in the same
-- transaction as its audit entry, and the worker in `serve` sends it. The
-- Message-ID is assigned when the message is queued, so a resend after a
-- crash carries the same one (at-least-once delivery). After the SMTP server
-- accepted a message, its recipient and body are erased (status, template,
-- item and times stay: the record that it was sent).
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,                  -- <uuid@domain>, fixed at enqueue
    kind            TEXT NOT NULL CHECK (kind IN ('feedback', 'forward', 'digest')),
    doc_id          TEXT,                                  -- the item (NULL for a digest)
    item_id         TEXT,
    partner         TEXT,                                  -- forward: the partner id
    template        TEXT,                                  -- feedback: the template's category ('' = default)
    with_contact    INTEGER NOT NULL DEFAULT 0,            -- forward: resident contact included
    recipient       TEXT NOT NULL,                         -- erased ('') once sent
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,                         -- erased ('') once sent
    created_by      TEXT,                                  -- user id (NULL: the system)
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,                                  -- the last SMTP or connection error
    sent_at         INTEGER,
    doc_edit_pending INTEGER NOT NULL DEFAULT 0            -- feedback: "given by e-mail" still to write
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_item ON mail_outbox (doc_id, item_id);

-- Feedback templates, editable by admins. category '' is the default for
-- every category without its own template.
CREATE TABLE mail_templates (
    category    TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_by  TEXT,
    updated_at  INTEGER NOT NULL
);
INSERT INTO mail_templates (category, subject, body, updated_by, updated_at) VALUES (
    '',
    'Wat we gedaan hebben met uw melding over {categorie}',
    'Beste {naam},

Op {datum} vertelde u ons iets over {categorie} in {wijk}. Dank u wel daarvoor.

Dit hebben we gedaan:
{wat_gedaan}

Heeft u nog vragen? Stuur dan een antwoord op deze e-mail. U kunt ook langskomen op het spreekuur.

Met vriendelijke groet,
Het wijkteam van de gemeente',
    NULL,
    0
);
