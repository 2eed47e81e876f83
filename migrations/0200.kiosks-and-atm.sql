-- depends: 0100.cards

-- Kiosks of every kind (ATM, self-checkout). A kiosk's agent on the Pi connects straight
-- to Postgres as its own LOGIN role, a member of kiosk_agent; over HTTP it is a `kiosk`
-- token with a kiosk_id claim. Either way the database says which kiosk is asking.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kiosk_agent') THEN
    CREATE ROLE kiosk_agent NOLOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA api TO kiosk_agent;

CREATE SCHEMA kiosk;
CREATE SCHEMA atm;

CREATE TABLE kiosk.kiosks (
    kiosk_id        text        PRIMARY KEY CHECK (kiosk_id ~ '^[a-z0-9][a-z0-9_]{0,39}$'),
    kind            text        NOT NULL CHECK (kind IN ('atm', 'checkout')),
    name            text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    location        text,
    login_role      text        UNIQUE,
    last_seen_at    timestamptz,
    link_up         boolean,
    pending_orders  int,
    app_version     text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

INSERT INTO core.settings (key, value, description) VALUES
  ('atm.currency', '"USD"', 'currency of ATM transactions (quarters)'),
  ('atm.expiry_minutes', '15', 'minutes a created ATM transaction waits for payment'),
  ('atm.lease_seconds', '30', 'dispense job lease; heartbeats extend it'),
  ('atm.max_attempts', '3', 'dispense attempts before a job fails'),
  ('atm.retry_base_seconds', '10', 'first retry delay; doubles per attempt'),
  ('atm.person_daily_limit', '20000', 'most a World ID (nullifier) may pay in 24 h, minor units'),
  ('atm.pay_url_base', '"http://127.0.0.1:8000/miniapp"', 'mini-app URL; pay_url = base || /pay/<id>');

CREATE TABLE atm.kiosk_config (
    kiosk_id    text   PRIMARY KEY REFERENCES kiosk.kiosks,
    fee_flat    bigint NOT NULL CHECK (fee_flat >= 0),
    max_amount  bigint NOT NULL CHECK (max_amount > 0 AND max_amount % 25 = 0)
);

CREATE TABLE atm.transactions (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    kiosk_id           text        NOT NULL REFERENCES kiosk.kiosks,
    amount             bigint      NOT NULL CHECK (amount > 0 AND amount % 25 = 0),
    fee                bigint      NOT NULL CHECK (fee >= 0),
    total              bigint      NOT NULL,
    quarters           int         NOT NULL,
    currency           text        NOT NULL,
    status             text        NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'paid', 'completed', 'failed', 'expired')),
    payment_reference  text        NOT NULL UNIQUE,
    expires_at         timestamptz NOT NULL,
    nullifier_hash     text,
    world_payment_id   text        UNIQUE,
    paid_amount        bigint,
    paid_at            timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (total = amount + fee),
    CHECK (quarters = amount / 25),
    CHECK ((status IN ('pending', 'expired')) = (paid_at IS NULL))
);
CREATE INDEX transactions_kiosk_time ON atm.transactions (kiosk_id, created_at);
CREATE INDEX transactions_pending_expiry ON atm.transactions (expires_at) WHERE status = 'pending';
CREATE INDEX transactions_person_paid ON atm.transactions (nullifier_hash, paid_at) WHERE nullifier_hash IS NOT NULL;

CREATE TABLE atm.transaction_events (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  uuid        NOT NULL REFERENCES atm.transactions,
    old_status      text,
    new_status      text        NOT NULL,
    actor           text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transaction_events_tx ON atm.transaction_events (transaction_id, id);

-- The queue. States: pending -> claimed -> dispensing -> completed, plus retry_wait,
-- failed, needs_reconciliation. A hot, churning table: low fillfactor for HOT updates,
-- eager autovacuum, history kept in job_events.
CREATE TABLE atm.dispense_jobs (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  uuid        NOT NULL UNIQUE REFERENCES atm.transactions,  -- exactly one job per payment
    kiosk_id        text        NOT NULL REFERENCES kiosk.kiosks,
    quarters        int         NOT NULL CHECK (quarters > 0),
    coins_paid      int         NOT NULL DEFAULT 0,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN
                    ('pending', 'claimed', 'dispensing', 'retry_wait', 'completed', 'failed', 'needs_reconciliation')),
    attempts        int         NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    int         NOT NULL CHECK (max_attempts > 0),
    claim_token     uuid,
    lease_until     timestamptz,
    due_at          timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (coins_paid BETWEEN 0 AND quarters),
    CHECK (status <> 'completed' OR coins_paid = quarters)
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200);
-- The claim's index: only due states, per kiosk, in due order.
CREATE INDEX dispense_jobs_due ON atm.dispense_jobs (kiosk_id, due_at, id) WHERE status IN ('pending', 'retry_wait');
CREATE INDEX dispense_jobs_leased ON atm.dispense_jobs (lease_until) WHERE status IN ('claimed', 'dispensing');

CREATE TABLE atm.job_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      bigint      NOT NULL,
    old_status  text,
    new_status  text        NOT NULL,
    coins_paid  int         NOT NULL,
    note        text,
    actor       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_events_job ON atm.job_events (job_id, id);

CREATE TABLE atm.alerts (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       bigint      REFERENCES atm.dispense_jobs,
    kind         text        NOT NULL,
    message      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz
);
