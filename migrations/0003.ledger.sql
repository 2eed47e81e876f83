-- depends: 0002.idempotency

CREATE TABLE ledger.accounts (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    owner_ref    text,
    currency     text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Bounded accounts (lower_bound set: cards, wallets) are locked and updated by every
    -- transfer. Unbounded house accounts are hot rows: transfers only append to
    -- balance_deltas, and ledger.rollup_balances() folds those into balance.
    lower_bound  bigint,
    balance      bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT balance_within_lower_bound CHECK (lower_bound IS NULL OR balance >= lower_bound)
);
CREATE UNIQUE INDEX accounts_kind_owner_currency ON ledger.accounts (kind, owner_ref, currency)
    WHERE owner_ref IS NOT NULL;

CREATE TABLE ledger.transfers (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,62}$'),
    idempotency_key  text,
    metadata         jsonb       NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transfers_kind_idempotency_key UNIQUE (kind, idempotency_key)
);

CREATE TABLE ledger.postings (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id  bigint      NOT NULL REFERENCES ledger.transfers,
    account_id   bigint      NOT NULL REFERENCES ledger.accounts,
    amount       bigint      NOT NULL CHECK (amount <> 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX postings_transfer ON ledger.postings (transfer_id);
CREATE INDEX postings_account ON ledger.postings (account_id, id);

-- Pending balance changes of unbounded accounts; append-only until rolled up.
CREATE TABLE ledger.balance_deltas (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL,  -- no FK: postings already hold one; spare the hot row a lock
    amount      bigint NOT NULL
);
CREATE INDEX balance_deltas_account ON ledger.balance_deltas (account_id);
