-- 0008: the daily digest. Staff e-mail addresses (set by admins; only used
-- for the digest), and the staff member a digest row of the outbox is for.
CREATE TABLE user_mail (
    user_id     TEXT PRIMARY KEY REFERENCES users(id),
    email       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE mail_outbox ADD COLUMN for_user TEXT;
CREATE INDEX mail_outbox_digest ON mail_outbox (kind, for_user, created_at);
