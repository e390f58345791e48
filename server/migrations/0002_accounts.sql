-- 0002: accounts, devices (one per login), rotating refresh tokens, the
-- append-only audit log, and the readiness probe's scratch row.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,                      -- uuid, the JWT `sub`
    username       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,                         -- Argon2id PHC string
    roles          TEXT NOT NULL,                         -- JSON array of role names
    team           TEXT,
    disabled_at    INTEGER,                               -- ms; NULL = active
    created_at     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,                       -- uuid, the JWT `did`
    user_id       TEXT NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    revoked_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX devices_user ON devices(user_id);

-- A refresh token family is a device: every rotation adds a row, the old
-- row gets used_at. Presenting a used token again revokes the device.
CREATE TABLE refresh_tokens (
    token_hash   BLOB PRIMARY KEY CHECK (length(token_hash) = 32),   -- SHA-256
    device_id    TEXT NOT NULL REFERENCES devices(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_device ON refresh_tokens(device_id);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT,                                      -- user id, NULL for the CLI/system
    action      TEXT NOT NULL,                             -- e.g. user.add, device.revoke
    subject     TEXT,                                      -- id of what was acted on
    detail      TEXT NOT NULL DEFAULT '{}'                 -- JSON, never secrets
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE readiness (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at  INTEGER NOT NULL
);
