-- depends: 0004.settings-and-internal-roles

CREATE SCHEMA cards;

INSERT INTO core.settings (key, value, description) VALUES
  ('cards.currency', '"EUR"', 'ISO-4217 currency of newly issued cards (the event currency)'),
  ('cards.max_recharge', '100000', 'largest single checkpoint recharge, in minor units'),
  ('cards.max_online_recharge', '100000', 'largest single Stripe recharge, in minor units'),
  ('cards.refund_fee', '200', 'fee kept from a refund, in minor units'),
  ('cards.refund_debtor_name', 'null', 'SEPA export: name of the account refunds are paid from'),
  ('cards.refund_debtor_iban', 'null', 'SEPA export: IBAN refunds are paid from'),
  ('cards.refund_debtor_bic', 'null', 'SEPA export: BIC of that account (optional)');

CREATE TABLE cards.cards (
    card_id     text        PRIMARY KEY CHECK (card_id ~ '^[A-Z0-9]{8}$'),
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'blocked')),
    account_id  bigint      NOT NULL UNIQUE REFERENCES ledger.accounts,
    issued_by   text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every status change, appended by a trigger in the same transaction.
CREATE TABLE cards.card_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id     text        NOT NULL REFERENCES cards.cards,
    old_status  text,
    new_status  text        NOT NULL,
    reason      text,
    actor       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX card_events_card ON cards.card_events (card_id, id);

CREATE TABLE cards.products (
    product_id  text        PRIMARY KEY CHECK (product_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category    text        NOT NULL CHECK (length(category) BETWEEN 1 AND 100),
    price       bigint      NOT NULL CHECK (price > 0),
    is_deposit  boolean     NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cards.bar_orders (
    order_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id         text        NOT NULL REFERENCES cards.cards,
    point_of_sale   text        NOT NULL,
    staff_id        text        NOT NULL,
    total           bigint      NOT NULL CHECK (total > 0),
    deposit_total   bigint      NOT NULL DEFAULT 0 CHECK (deposit_total >= 0),
    -- What was sold, at the prices charged: [{product_id, quantity, unit_price, is_deposit}].
    -- Kept on the (immutable) order row: one insert per order, no line table to join.
    lines           jsonb       NOT NULL CHECK (jsonb_typeof(lines) = 'array'),
    transfer_id     bigint      NOT NULL UNIQUE REFERENCES ledger.transfers,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bar_orders_card ON cards.bar_orders (card_id);
CREATE INDEX bar_orders_pos_time ON cards.bar_orders (point_of_sale, created_at);

-- Deposits a card has paid and not yet returned, per product and price paid.
CREATE TABLE cards.deposits_outstanding (
    card_id     text    NOT NULL REFERENCES cards.cards,
    product_id  text    NOT NULL REFERENCES cards.products,
    unit_price  bigint  NOT NULL CHECK (unit_price > 0),
    quantity    int     NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (card_id, product_id, unit_price)
);

CREATE TABLE cards.deposit_returns (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id        text        NOT NULL REFERENCES cards.cards,
    quantity       int         NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    amount         bigint      NOT NULL CHECK (amount > 0),
    point_of_sale  text        NOT NULL,
    staff_id       text        NOT NULL,
    transfer_id    bigint      NOT NULL UNIQUE REFERENCES ledger.transfers,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cards.recharges (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id         text        NOT NULL REFERENCES cards.cards,
    method          text        NOT NULL CHECK (method IN ('cash', 'card', 'stripe')),
    amount          bigint      NOT NULL CHECK (amount > 0),
    checkpoint_id   text,
    staff_id        text,
    payment_intent  text        UNIQUE,
    transfer_id     bigint      NOT NULL UNIQUE REFERENCES ledger.transfers,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((method = 'stripe') = (payment_intent IS NOT NULL)),
    CHECK ((method = 'stripe') OR (checkpoint_id IS NOT NULL AND staff_id IS NOT NULL))
);
CREATE INDEX recharges_card ON cards.recharges (card_id);

-- An online recharge: created before the Checkout Session, completed by webhooks.
CREATE TABLE cards.recharge_intents (
    intent_id     uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    card_id       text        NOT NULL REFERENCES cards.cards,
    amount        bigint      NOT NULL CHECK (amount > 0),
    currency      text        NOT NULL,
    status        text        NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'open', 'succeeded', 'failed', 'expired')),
    session_id    text        UNIQUE,
    checkout_url  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per Stripe payment intent: what was credited and refunded for it. Keyed on
-- the payment intent so completed + async_payment_succeeded can never credit twice,
-- and a refund or dispute that arrives before the payment is kept until it lands.
CREATE TABLE cards.stripe_payments (
    payment_intent    text        PRIMARY KEY,
    session_id        text        UNIQUE,
    intent_id         uuid        REFERENCES cards.recharge_intents,
    card_id           text        REFERENCES cards.cards,
    amount_credited   bigint      NOT NULL DEFAULT 0 CHECK (amount_credited >= 0),
    currency          text,
    refunded_seen     bigint      NOT NULL DEFAULT 0 CHECK (refunded_seen >= 0),
    refunded_applied  bigint      NOT NULL DEFAULT 0 CHECK (refunded_applied >= 0),
    disputed          boolean     NOT NULL DEFAULT false,
    credited_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cards.stripe_events (
    event_id     text        PRIMARY KEY,
    type         text        NOT NULL,
    outcome      text        NOT NULL,
    payload      jsonb       NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- Money a card owes after a refund/chargeback took more than its balance.
CREATE TABLE cards.card_debts (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id         text        NOT NULL REFERENCES cards.cards,
    amount          bigint      NOT NULL CHECK (amount > 0),
    reason          text        NOT NULL,
    payment_intent  text,
    transfer_id     bigint      NOT NULL REFERENCES ledger.transfers,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cards.refund_exports (
    export_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  text        NOT NULL UNIQUE,
    count       int         NOT NULL,
    total       bigint      NOT NULL,
    xml         text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cards.refund_requests (
    refund_id    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id      text        NOT NULL UNIQUE REFERENCES cards.cards,  -- one refund per card
    name         text        NOT NULL,
    email        text        NOT NULL,
    iban         text        NOT NULL,
    amount       bigint      NOT NULL CHECK (amount > 0),
    fee          bigint      NOT NULL CHECK (fee >= 0),
    currency     text        NOT NULL,
    status       text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'exported')),
    export_id    bigint      REFERENCES cards.refund_exports,
    transfer_id  bigint      NOT NULL REFERENCES ledger.transfers,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refund_requests_pending ON cards.refund_requests (refund_id) WHERE status = 'pending';

CREATE TABLE cards.nfc_scans (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id     text        NOT NULL,
    device_id   text        NOT NULL,
    location    text,
    status      text        NOT NULL,
    duplicate   boolean     NOT NULL,
    staff_id    text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX nfc_scans_device_time ON cards.nfc_scans (device_id, created_at);
