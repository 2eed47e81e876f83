-- depends: 0200.kiosks-and-atm 0201.dispense-claim-cost

-- Every confirmed World App payment is booked. A payment that pays its transaction is
-- booked on the transaction (world_payment_id, UNIQUE); any money it brings beyond the
-- total, and the whole of a confirmed payment that cannot pay (it came after the grace
-- period, the transaction was already paid, it is short, the person is over the limit),
-- is booked from the payment clearing account to a refund-due liability, one row here
-- per payment. Settling the refund (how it was paid back) moves it out of refund-due.

INSERT INTO core.settings (key, value, description) VALUES
  ('atm.late_payment_grace_minutes', '5',
   'minutes after expiry in which a confirmed World App payment still pays its ATM transaction; later ones are booked as refund due');

CREATE TABLE atm.refunds (
    id                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id      uuid        NOT NULL REFERENCES atm.transactions,
    world_payment_id    text        NOT NULL UNIQUE,  -- a payment is booked once
    nullifier_hash      text,
    reason              text        NOT NULL CHECK (reason IN ('excess', 'late', 'already_paid', 'underpaid', 'person_limit')),
    amount              bigint      NOT NULL CHECK (amount > 0),
    currency            text        NOT NULL,
    status              text        NOT NULL DEFAULT 'due' CHECK (status IN ('due', 'settled')),
    transfer_id         bigint      NOT NULL,  -- clearing -> refund due
    settled_transfer_id bigint,                -- refund due -> refunds paid
    method              text        CHECK (method IN ('world_app', 'cash', 'bank_transfer', 'other')),
    settled_reference   text,
    settled_note        text,
    settled_by          text,
    settled_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'settled') = (settled_at IS NOT NULL AND settled_transfer_id IS NOT NULL AND method IS NOT NULL))
);
CREATE INDEX refunds_due_since ON atm.refunds (created_at) WHERE status = 'due';
CREATE INDEX refunds_transaction ON atm.refunds (transaction_id);

-- Alerts about a payment to refund name it; dispense alerts keep naming their job.
ALTER TABLE atm.alerts ADD COLUMN refund_id bigint REFERENCES atm.refunds;
CREATE INDEX alerts_refund ON atm.alerts (refund_id) WHERE refund_id IS NOT NULL;
