-- 0013: the audit log's retention period (docs/privacy.md, "Retention").
-- The log stays append-only for everything younger than the period: a
-- delete is refused unless the entry is older than the cutoff that a
-- retention run sets in the same transaction (and resets to 0 after it).
CREATE TABLE audit_retention (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    before      INTEGER NOT NULL                           -- ms; entries with at < before may be deleted
);
INSERT INTO audit_retention (id, before) VALUES (1, 0);

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.at >= (SELECT before FROM audit_retention WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only (only entries past their retention period may be deleted)');
END;
