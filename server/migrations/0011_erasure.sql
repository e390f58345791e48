-- 0011: erasure that reaches the history (docs/privacy.md, "Erasure").
--
-- An erasure rewrites a document's history: the rows of its old changes
-- are deleted and the rewritten ones inserted (same sender, actor and
-- arrival time, new hash), the snapshot replaced, and the document's
-- `epoch` raised by one. `changes` stays append-only within an epoch: a
-- row may only be deleted once its document has moved to a later epoch.

ALTER TABLE documents ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER changes_no_delete;
CREATE TRIGGER changes_no_delete BEFORE DELETE ON changes
WHEN OLD.epoch >= (SELECT epoch FROM documents WHERE id = OLD.doc_id)
BEGIN
    SELECT RAISE(ABORT, 'changes are append-only');
END;

DROP TRIGGER changes_no_update;
CREATE TRIGGER changes_no_update BEFORE UPDATE ON changes
WHEN NEW.seq IS NOT OLD.seq OR NEW.doc_id IS NOT OLD.doc_id OR NEW.hash IS NOT OLD.hash
  OR NEW.user_id IS NOT OLD.user_id OR NEW.actor IS NOT OLD.actor
  OR NEW.received_at IS NOT OLD.received_at OR NEW.bytes IS NOT NULL
  OR NEW.epoch IS NOT OLD.epoch
BEGIN
    SELECT RAISE(ABORT, 'changes are append-only (only compaction may clear bytes)');
END;
