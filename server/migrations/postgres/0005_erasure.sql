-- 0005: erasure that reaches the history, and the audit log's retention
-- period: the same rules as SQLite's 0011_erasure.sql and
-- 0013_audit_retention.sql (docs/privacy.md, "Erasure" and "Retention").
--
-- An erasure rewrites a document's history in one transaction: the
-- document's `epoch` goes up by one, the rows of its old changes are
-- deleted and the rewritten ones inserted (same sender, actor and arrival
-- time, new hash, no bytes: the new snapshot holds them), the snapshot is
-- replaced. `changes` stays append-only within an epoch: a row may only be
-- deleted once its document has moved to a later epoch, and a row may only
-- be inserted at its document's current epoch, so a change applied to a
-- copy of the old history (on a node that has not heard of the rewrite
-- yet) can never be stored beside the new one.

ALTER TABLE documents ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN epoch bigint NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.epoch >= (SELECT epoch FROM documents WHERE id = OLD.doc_id) THEN
            RAISE EXCEPTION 'changes are append-only';
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.seq IS DISTINCT FROM OLD.seq OR NEW.doc_id IS DISTINCT FROM OLD.doc_id
       OR NEW.hash IS DISTINCT FROM OLD.hash OR NEW.user_id IS DISTINCT FROM OLD.user_id
       OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.received_at IS DISTINCT FROM OLD.received_at
       OR NEW.bytes IS NOT NULL OR NEW.epoch IS DISTINCT FROM OLD.epoch THEN
        RAISE EXCEPTION 'changes are append-only (only compaction may clear bytes)';
    END IF;
    RETURN NEW;
END $$;

-- An inserted change belongs to its document's current epoch (the store
-- checks the epoch a write was based on under a share lock of the document
-- row first; this is the guard behind that check).
CREATE FUNCTION changes_current_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    current bigint;
BEGIN
    SELECT epoch INTO current FROM documents WHERE id = NEW.doc_id;
    IF NEW.epoch IS DISTINCT FROM current THEN
        RAISE EXCEPTION 'the document''s history was rewritten (epoch %, not %)', current, NEW.epoch;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER changes_current_epoch BEFORE INSERT ON changes
    FOR EACH ROW EXECUTE FUNCTION changes_current_epoch();

-- The audit log stays append-only for everything younger than its
-- retention period: a delete is refused unless the entry is older than the
-- cutoff that a retention run sets in the same transaction (and resets to
-- 0 after it).
CREATE TABLE audit_retention (
    id          integer PRIMARY KEY CHECK (id = 1),
    before      bigint NOT NULL                           -- ms; entries with at < before may be deleted
);
INSERT INTO audit_retention (id, before) VALUES (1, 0);

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < (SELECT before FROM audit_retention WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (only entries past their retention period may be deleted)';
END $$;
