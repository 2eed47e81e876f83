-- depends: 0900.error-codes

-- What the retention cleanup keeps of a key it forgets: that it was used. Without it a
-- retry after the cleanup was a new request - a bar order charged the card again, and a
-- keyed transfer hit the ledger's unique key (a 500). With it such a retry is a clear
-- REQUEST_ID_EXPIRED. A row is the key alone, no request or answer, so it can be kept
-- as long as the money it guards.
CREATE TABLE core.idempotency_expired (
    scope       text        NOT NULL,
    principal   text        NOT NULL,
    key         text        NOT NULL,
    created_at  timestamptz NOT NULL,  -- when the key was first used
    PRIMARY KEY (scope, principal, key)
);
