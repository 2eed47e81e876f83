-- depends: 0100.cards 0800.hot-path

-- Stripe money that may not go onto a card's spendable balance: a second payment for an
-- intent already paid, or a payment for a card that is blocked (after its debt is paid)
-- or whose refund was already sent to the bank. It sits in the house account
-- held_payments/cards until a person or Stripe moves it: a charge.refunded for its
-- payment intent releases it back to stripe_clearing. An open row is the alert.
CREATE TABLE cards.held_payments (
    held_id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_id         text        NOT NULL REFERENCES cards.cards,
    payment_intent  text        NOT NULL UNIQUE,
    session_id      text,
    reason          text        NOT NULL
                    CHECK (reason IN ('duplicate_session', 'card_blocked', 'refund_already_exported', 'card_frozen')),
    amount          bigint      NOT NULL CHECK (amount > 0),
    released        bigint      NOT NULL DEFAULT 0,
    currency        text        NOT NULL,
    transfer_id     bigint      NOT NULL REFERENCES ledger.transfers,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    CHECK (released BETWEEN 0 AND amount),
    CHECK ((resolved_at IS NOT NULL) = (released = amount))
);
CREATE INDEX held_payments_open ON cards.held_payments (held_id) WHERE resolved_at IS NULL;
CREATE INDEX held_payments_card ON cards.held_payments (card_id);

-- Debt is paid down by rows with a negative amount (the sum is what the card owes).
ALTER TABLE cards.card_debts DROP CONSTRAINT card_debts_amount_check;
ALTER TABLE cards.card_debts ADD CONSTRAINT card_debts_amount_check CHECK (amount <> 0);

-- Stripe events whose body jsonb cannot hold as sent (a \u0000 in a string): the body as
-- received, and for every event the sha256 of the signed bytes.
ALTER TABLE cards.stripe_events ADD COLUMN raw_payload text;
ALTER TABLE cards.stripe_events ADD COLUMN payload_sha256 bytea;
