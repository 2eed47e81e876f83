-- The claim benchmark's reference: a bare job-queue claim - one UPDATE over a
-- FOR UPDATE SKIP LOCKED sub-select, no function around it - on a plain table with the
-- columns, indexes (the partial index on the due states, the lease index, the unique
-- transaction id) and storage settings of atm.dispense_jobs. The ratio then measures what
-- api.dispense_claim() adds: kiosk identity from the login, the heartbeat, the history
-- row, the JSON answer.
CREATE SCHEMA bench_queue;
CREATE TABLE bench_queue.jobs (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  uuid        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    kiosk_id        text        NOT NULL,
    quarters        int         NOT NULL,
    coins_paid      int         NOT NULL DEFAULT 0,
    status          text        NOT NULL DEFAULT 'pending',
    attempts        int         NOT NULL DEFAULT 0,
    max_attempts    int         NOT NULL DEFAULT 3,
    claim_token     uuid,
    lease_until     timestamptz,
    due_at          timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200);
CREATE INDEX jobs_due ON bench_queue.jobs (kiosk_id, due_at, id) WHERE status IN ('pending', 'retry_wait');
CREATE INDEX jobs_leased ON bench_queue.jobs (lease_until) WHERE status IN ('claimed', 'dispensing');

-- The minimal table: primary key and the partial index on the due states, nothing else.
CREATE TABLE bench_queue.jobs_min (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kiosk_id     text        NOT NULL,
    status       text        NOT NULL DEFAULT 'pending',
    attempts     int         NOT NULL DEFAULT 0,
    claim_token  uuid,
    lease_until  timestamptz,
    due_at       timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_min_due ON bench_queue.jobs_min (kiosk_id, due_at, id) WHERE status IN ('pending', 'retry_wait');
