-- depends: 1150.api-schemas 1070.kiosk-companies 1040.idempotency-expired-keys

-- Alerts across domains: one row per problem (domain, kind, subject) while it is active,
-- raised and refreshed by core.alert_raise (the sweep, a failing upkeep job), cleared by
-- the sweep when its condition is gone, or acknowledged / resolved by a person.
CREATE TABLE core.alerts (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain           text        NOT NULL CHECK (domain IN ('atm', 'festival', 'checkout', 'dex', 'upkeep')),
    kind             text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
    subject          text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    company_id       text        REFERENCES dex.companies (company_id),
    severity         text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    status           text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    message          text        NOT NULL CHECK (length(message) BETWEEN 1 AND 2000),
    details          jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    occurrences      bigint      NOT NULL DEFAULT 1,
    raised_at        timestamptz NOT NULL DEFAULT now(),
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    resolve_note     text,
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK (acknowledged_at IS NULL OR acknowledged_by IS NOT NULL)
);
-- One active alert per problem: raising it again refreshes that row.
CREATE UNIQUE INDEX alerts_one_active ON core.alerts (domain, kind, subject) WHERE status <> 'resolved';
CREATE INDEX alerts_company_status ON core.alerts (company_id, status, last_seen_at);
CREATE INDEX alerts_status ON core.alerts (status, last_seen_at);

-- Every change of an alert a person would want to see, with the alert as it became: the
-- log the live stream (GET /events) replays after a reconnect. Ids are handed out in
-- commit order (the writer holds a lock until it commits), so "every event after id N"
-- never skips one that committed late.
CREATE TABLE core.alert_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    bigint      NOT NULL REFERENCES core.alerts,
    company_id  text,
    change      text        NOT NULL CHECK (change IN ('raised', 'updated', 'acknowledged', 'resolved')),
    alert       jsonb       NOT NULL,
    -- When it was logged (under the lock), not when its transaction began: in id order.
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX alert_events_company ON core.alert_events (company_id, id);

-- Operators read alerts through fleet_service-owned functions (sql/80_alerts): the company
-- policies there filter them, as for the kiosk domains' rows.
ALTER TABLE core.alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE core.alert_events ENABLE ROW LEVEL SECURITY;

INSERT INTO core.settings (key, value, description) VALUES
  ('alerts.checkout_offline_seconds', '300',
   'a self-checkout kiosk offline (no heartbeat with link up) this long raises an alert'),
  ('alerts.checkout_backlog_seconds', '900',
   'a self-checkout kiosk whose oldest unsynced order is this old raises an alert'),
  ('alerts.dex_stale_hours', '24',
   'a vending machine without a read for this many hours raises an alert'),
  ('alerts.refund_export_days', '3',
   'card refunds pending (not in a SEPA export) for this many days raise an alert'),
  ('alerts.keep_resolved_days', '90',
   'resolved alerts and their events are deleted after this many days by the alert_prune job'),
  ('upkeep.keep_runs_days', '30', 'rows of upkeep.runs older than this are deleted by the alert_prune job'),
  ('idempotency.keep_expired_days', '400',
   'keys forgotten by the idempotency cleanup are remembered (REQUEST_ID_EXPIRED) this many days, then pruned');

-- Scheduled upkeep: which maintenance jobs run how often, and a log of every run.
CREATE SCHEMA upkeep;

CREATE TABLE upkeep.jobs (
    name             text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    command          text        NOT NULL,  -- one SQL query, run with EXECUTE; its rows are the result
    every            interval    NOT NULL CHECK (every >= interval '1 second'),
    enabled          boolean     NOT NULL DEFAULT true,
    -- Order within one tick: the alert sweep after the jobs that change what it reads.
    position         smallint    NOT NULL DEFAULT 50,
    description      text        NOT NULL,
    last_started_at  timestamptz,
    last_ok_at       timestamptz
);

CREATE TABLE upkeep.runs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job          text        NOT NULL REFERENCES upkeep.jobs ON DELETE CASCADE,
    runner       text        NOT NULL,  -- pg_cron, scheduler, or who called upkeep.run_job
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    duration_ms  numeric     NOT NULL,
    ok           boolean     NOT NULL,
    result       jsonb,
    error        text
);
CREATE INDEX runs_job ON upkeep.runs (job, id);
CREATE INDEX runs_started ON upkeep.runs (started_at);

INSERT INTO upkeep.jobs (name, command, every, description) VALUES
  ('expire_leases', 'SELECT atm.expire_leases() AS expired', '30 seconds',
   'dispense job leases that ran out: claimed -> pending, dispensing -> needs_reconciliation (without any agent alive)'),
  ('retry_failed_jobs', 'SELECT atm.retry_failed_jobs(''10 minutes'') AS requeued', '5 minutes',
   'failed dispense jobs with a known coin count go back to the queue'),
  ('cleanup_expired_transactions', 'SELECT atm.cleanup_expired_transactions() AS expired', '1 minute',
   'unpaid ATM transactions past their expiry become expired'),
  ('rollup_balances', 'SELECT ledger.rollup_balances() AS folded', '1 minute',
   'folds the balance deltas of unbounded house accounts into their balances'),
  ('idempotency_cleanup', 'SELECT core.idempotency_cleanup() AS forgotten, core.idempotency_expired_prune() AS pruned',
   '1 hour', 'forgets idempotency answers past the retention window; prunes very old expired keys'),
  ('alert_prune', 'SELECT * FROM upkeep.prune()', '1 day',
   'deletes resolved alerts, their events and upkeep runs past their retention');
INSERT INTO upkeep.jobs (name, command, every, position, description) VALUES
  ('alert_sweep', 'SELECT * FROM core.alert_sweep()', '1 minute', 90,
   'raises, refreshes and clears the alerts of every domain');
