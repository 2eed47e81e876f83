-- depends: 0200.kiosks-and-atm

-- Always-on self-checkout. Kiosks sell offline and sync later; the central
-- stores every sale exactly once under order_id = kiosk_id:idempotency_key. Money is
-- bigint minor units; prices on lines are what the kiosk charged (the sale happened),
-- compared with the catalog version the kiosk named.
CREATE SCHEMA checkout;

-- The catalog as it is now. `version` is the catalog version of this item's last edit.
CREATE TABLE checkout.catalog_items (
    sku         text        PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    price       bigint      NOT NULL CHECK (price BETWEEN 1 AND 10000000),
    currency    text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    active      boolean     NOT NULL,
    version     bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every edit, kept forever: the catalog version is max(version), and "the price of sku S
-- in version V" is the latest row of S with version <= V. Versions are handed out under a
-- table lock, so they commit in order and a kiosk that saw version V saw every edit <= V.
CREATE TABLE checkout.catalog_history (
    version     bigint      PRIMARY KEY CHECK (version > 0),
    sku         text        NOT NULL,
    name        text        NOT NULL,
    price       bigint      NOT NULL,
    currency    text        NOT NULL,
    active      boolean     NOT NULL,
    actor       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_history_sku_version ON checkout.catalog_history (sku, version);

-- One row per sale. The UNIQUE order id is the exactly-once guarantee: a resend meets it
-- in INSERT ... ON CONFLICT, and payload_hash tells a duplicate from a reused key.
CREATE TABLE checkout.orders (
    order_id         text        PRIMARY KEY,
    kiosk_id         text        NOT NULL REFERENCES kiosk.kiosks,
    idempotency_key  text        NOT NULL CHECK (idempotency_key ~ '^[A-Za-z0-9_.:-]+$' AND length(idempotency_key) BETWEEN 8 AND 128),
    payload_hash     bytea       NOT NULL,
    payment_method   text        NOT NULL CHECK (payment_method IN ('card', 'mobile', 'cash')),
    currency         text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    catalog_version  bigint      NOT NULL,
    total            bigint      NOT NULL CHECK (total > 0),
    line_count       int         NOT NULL CHECK (line_count > 0),
    flagged_lines    int         NOT NULL CHECK (flagged_lines >= 0),
    created_at       timestamptz NOT NULL,            -- the kiosk's clock, as reported
    sold_at          timestamptz NOT NULL,            -- least(created_at, received_at): a sale is never later than its arrival
    received_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (order_id = kiosk_id || ':' || idempotency_key),
    CHECK (sold_at <= received_at)
);
CREATE INDEX orders_kiosk_sold ON checkout.orders (kiosk_id, sold_at);
CREATE INDEX orders_sold ON checkout.orders (sold_at);

-- The lines as charged. catalog_price is the named version's price (NULL when the sku was
-- not in that version); price_flag says why a line differs. No FK to catalog_items: the
-- sync checks every sku in its one lookup, and items are never deleted.
CREATE TABLE checkout.order_lines (
    order_id       text   NOT NULL REFERENCES checkout.orders,
    line_no        int    NOT NULL CHECK (line_no > 0),
    sku            text   NOT NULL,
    qty            int    NOT NULL CHECK (qty BETWEEN 1 AND 200),
    unit_price     bigint NOT NULL CHECK (unit_price BETWEEN 1 AND 10000000),
    catalog_price  bigint,
    price_flag     text   CHECK (price_flag IN ('price_differs', 'not_in_version', 'inactive_in_version')),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_flagged ON checkout.order_lines (order_id) WHERE price_flag IS NOT NULL;

-- Orders the central refused: a key reused with another payload (mismatch; the stored
-- order is never overwritten) or a rejection with its reason. One row per distinct
-- problem; a resend bumps times/last_seen_at. An operator marks it resolved.
CREATE TABLE checkout.refused_orders (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kiosk_id         text        NOT NULL REFERENCES kiosk.kiosks,
    idempotency_key  text,
    status           text        NOT NULL CHECK (status IN ('mismatch', 'rejected')),
    reason           text        NOT NULL,
    message          text        NOT NULL,
    payload          jsonb       NOT NULL,
    payload_hash     bytea       NOT NULL,
    times            int         NOT NULL DEFAULT 1,
    first_seen_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at      timestamptz,
    CONSTRAINT refused_orders_one_per_problem UNIQUE NULLS NOT DISTINCT (kiosk_id, idempotency_key, status, payload_hash)
);
CREATE INDEX refused_orders_open ON checkout.refused_orders (kiosk_id) WHERE resolved_at IS NULL;

-- Per sync call: what came in and what became of it (the per-order results are returned
-- to the kiosk; accepted ones live in orders, refused ones in refused_orders).
CREATE TABLE checkout.sync_batches (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kiosk_id     text        NOT NULL REFERENCES kiosk.kiosks,
    orders       int         NOT NULL,
    accepted     int         NOT NULL,
    duplicate    int         NOT NULL,
    mismatch     int         NOT NULL,
    rejected     int         NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (orders = accepted + duplicate + mismatch + rejected)
);
CREATE INDEX sync_batches_kiosk ON checkout.sync_batches (kiosk_id, received_at);

-- What each edge reports about its unsynced backlog (pending_orders itself comes with the
-- kiosk heartbeat): the creation time of its oldest unsynced order, NULL when none.
CREATE TABLE checkout.edge_backlog (
    kiosk_id           text        PRIMARY KEY REFERENCES kiosk.kiosks,
    oldest_pending_at  timestamptz,
    reported_at        timestamptz NOT NULL DEFAULT now()
);

INSERT INTO core.settings (key, value, description) VALUES
  ('checkout.online_seconds', '20', 'a checkout kiosk is online when its last heartbeat is this recent and it reported link_up'),
  ('checkout.timezone', '"UTC"', 'time zone whose calendar day is "today" on the checkout dashboard'),
  ('checkout.max_batch', '500', 'most orders per api.checkout_sync call');
