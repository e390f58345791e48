-- PostgreSQL 0001: everything the `Store` trait keeps, in one migration: the
-- documents with their automerge changes and snapshots, actor bindings, the
-- review projections with full-text search, accounts, devices, refresh
-- tokens, the append-only audit log and the readiness row. The same tables
-- and rules as SQLite's 0001-0006 (server/migrations/), in PostgreSQL's types.
-- Times are ms since the Unix epoch (bigint), ids as on SQLite.

-- Full-text search: diacritics folded (unaccent), Dutch stems, and an
-- unstemmed twin so that a prefix finds what SQLite's prefix match finds.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION wijklog_nl (COPY = pg_catalog.dutch);
ALTER TEXT SEARCH CONFIGURATION wijklog_nl
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
    WITH unaccent, dutch_stem;
CREATE TEXT SEARCH CONFIGURATION wijklog_simple (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION wijklog_simple
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
    WITH unaccent, simple;

-- The search vector of one row: both configurations over text and place.
CREATE FUNCTION wijklog_fts(body text, place text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('wijklog_nl'::regconfig, coalesce(body, '') || ' ' || coalesce(place, ''))
        || to_tsvector('wijklog_simple'::regconfig, coalesce(body, '') || ' ' || coalesce(place, ''))
$$;

-- The query for a list of words the user typed: every word must match as a
-- prefix, stemmed (Dutch) or unstemmed. Words are normalized by the same
-- configurations as the rows, never parsed as query syntax. NULL when no
-- word leaves a lexeme.
CREATE FUNCTION wijklog_prefix_query(words text[]) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH per_word AS (
        SELECT w.ord,
               (SELECT string_agg('''' || replace(replace(l, '\', '\\'), '''', '''''') || ''':*', ' & ')
                  FROM unnest(tsvector_to_array(to_tsvector('wijklog_simple'::regconfig, w.word))) l) AS plain,
               (SELECT string_agg('''' || replace(replace(l, '\', '\\'), '''', '''''') || ''':*', ' & ')
                  FROM unnest(tsvector_to_array(to_tsvector('wijklog_nl'::regconfig, w.word))) l) AS stemmed
        FROM unnest(words) WITH ORDINALITY AS w(word, ord)
    ),
    alternatives AS (
        SELECT ord, CASE
            WHEN plain IS NULL THEN NULL
            WHEN stemmed IS NULL OR stemmed = plain THEN '(' || plain || ')'
            ELSE '((' || plain || ') | (' || stemmed || '))'
        END AS q
        FROM per_word
    )
    SELECT string_agg(q, ' & ' ORDER BY ord)::tsquery FROM alternatives WHERE q IS NOT NULL
$$;

CREATE TABLE documents (
    id          bytea PRIMARY KEY CHECK (length(id) = 16),
    kind        text NOT NULL CHECK (kind IN ('walk', 'spreekuur', 'catalog')),
    owner       text NOT NULL,
    team        text,
    created_at  bigint NOT NULL
);
CREATE INDEX documents_kind_team ON documents(kind, team);
CREATE INDEX documents_owner ON documents(owner);

-- Every automerge change ever received; append-only except that compaction
-- may clear the bytes of a change a snapshot provably contains.
CREATE TABLE changes (
    seq          bigserial PRIMARY KEY,
    doc_id       bytea NOT NULL REFERENCES documents(id),
    hash         bytea NOT NULL CHECK (length(hash) = 32),
    bytes        bytea,
    user_id      text NOT NULL,
    actor        bytea NOT NULL,
    received_at  bigint NOT NULL,
    UNIQUE (doc_id, hash)
);
CREATE INDEX changes_uncovered ON changes(doc_id) WHERE bytes IS NOT NULL;

CREATE FUNCTION changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'changes are append-only';
    END IF;
    IF NEW.seq IS DISTINCT FROM OLD.seq OR NEW.doc_id IS DISTINCT FROM OLD.doc_id
       OR NEW.hash IS DISTINCT FROM OLD.hash OR NEW.user_id IS DISTINCT FROM OLD.user_id
       OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.received_at IS DISTINCT FROM OLD.received_at
       OR NEW.bytes IS NOT NULL THEN
        RAISE EXCEPTION 'changes are append-only (only compaction may clear bytes)';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER changes_append_only BEFORE UPDATE OR DELETE ON changes
    FOR EACH ROW EXECUTE FUNCTION changes_append_only();

CREATE TABLE snapshots (
    doc_id      bytea PRIMARY KEY REFERENCES documents(id),
    bytes       bytea NOT NULL,
    heads       text NOT NULL,
    created_at  bigint NOT NULL
);

CREATE TABLE actors (
    actor_id    bytea PRIMARY KEY,
    user_id     text NOT NULL,
    first_seen  bigint NOT NULL
);

CREATE TABLE observations (
    doc_id      bytea NOT NULL REFERENCES documents(id),
    item_id     text NOT NULL,
    team        text,
    wijk        text,
    category    text,
    severity    text,
    created_at  bigint,
    created_by  text,
    deleted     boolean NOT NULL DEFAULT false,
    text        text NOT NULL DEFAULT '',
    place       text,
    row_json    text NOT NULL,
    fts         tsvector GENERATED ALWAYS AS (wijklog_fts(text, place)) STORED,
    UNIQUE (doc_id, item_id)
);
CREATE INDEX observations_wijk ON observations(wijk, created_at);
CREATE INDEX observations_team ON observations(team, created_at);
CREATE INDEX observations_category ON observations(category, created_at);
CREATE INDEX observations_fts ON observations USING gin (fts);

CREATE TABLE notes (
    doc_id      bytea NOT NULL REFERENCES documents(id),
    item_id     text NOT NULL,
    team        text,
    wijk        text,
    category    text,
    severity    text,
    created_at  bigint,
    created_by  text,
    deleted     boolean NOT NULL DEFAULT false,
    text        text NOT NULL DEFAULT '',
    place       text,
    row_json    text NOT NULL,
    fts         tsvector GENERATED ALWAYS AS (wijklog_fts(text, place)) STORED,
    UNIQUE (doc_id, item_id)
);
CREATE INDEX notes_wijk ON notes(wijk, created_at);
CREATE INDEX notes_team ON notes(team, created_at);
CREATE INDEX notes_category ON notes(category, created_at);
CREATE INDEX notes_fts ON notes USING gin (fts);

-- Accounts. Login names are unique without regard to case.
CREATE TABLE users (
    id             text PRIMARY KEY,
    username       text NOT NULL,
    display_name   text NOT NULL,
    password_hash  text NOT NULL,
    roles          text NOT NULL,
    team           text,
    disabled_at    bigint,
    created_at     bigint NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE devices (
    id             text PRIMARY KEY,
    user_id        text NOT NULL REFERENCES users(id),
    name           text NOT NULL,
    created_at     bigint NOT NULL,
    last_seen_at   bigint NOT NULL,
    revoked_at     bigint,
    signed_out_at  bigint
);
CREATE INDEX devices_user ON devices(user_id);

CREATE TABLE refresh_tokens (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    device_id    text NOT NULL REFERENCES devices(id),
    user_id      text NOT NULL REFERENCES users(id),
    created_at   bigint NOT NULL,
    expires_at   bigint NOT NULL,
    used_at      bigint
);
CREATE INDEX refresh_tokens_device ON refresh_tokens(device_id);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          bigint NOT NULL,
    actor       text,
    action      text NOT NULL,
    subject     text,
    detail      text NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_actor ON audit_log(actor, id);
CREATE INDEX audit_log_action ON audit_log(action, id);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE readiness (
    id          integer PRIMARY KEY CHECK (id = 1),
    checked_at  bigint NOT NULL
);
