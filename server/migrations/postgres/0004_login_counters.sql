-- 0004: login rate-limit counters shared by every node on this database
-- (docs/operations.md, "Login rate limiting"). One row per window that holds failures:
-- kind 1 = (account, client) pair, 2 = address, 3 = account. Rows go when
-- their window has passed (pruned by the nodes) or holds no failure.

CREATE TABLE login_windows (
    kind        smallint NOT NULL CHECK (kind BETWEEN 1 AND 3),
    key         text NOT NULL,
    started_at  bigint NOT NULL,
    failures    integer NOT NULL CHECK (failures > 0),
    PRIMARY KEY (kind, key)
);
CREATE INDEX login_windows_started ON login_windows(started_at);

-- Addresses that logged in to an account successfully: exempt from the
-- account-wide budget. The newest few per account, for a limited time.
CREATE TABLE login_trusted (
    account     text NOT NULL,
    addr        text NOT NULL,
    at          bigint NOT NULL,
    PRIMARY KEY (account, addr)
);
CREATE INDEX login_trusted_at ON login_trusted(at);
