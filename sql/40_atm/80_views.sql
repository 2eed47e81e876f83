-- atm: DBA views. Counts come from one aggregate per kiosk (FILTER), never from joining
-- jobs and transactions (such a join would multiply the counts).

CREATE OR REPLACE VIEW atm.kiosk_health WITH (security_invoker = true) AS
SELECT k.kiosk_id, k.name, k.location, k.last_seen_at,
       coalesce(j.pending, 0) AS pending, coalesce(j.dispensing, 0) AS dispensing,
       coalesce(j.reconciliation, 0) AS needs_reconciliation, coalesce(j.failed, 0) AS failed,
       (SELECT count(*) FROM atm.alerts a JOIN atm.dispense_jobs d ON d.id = a.job_id
         WHERE d.kiosk_id = k.kiosk_id AND a.resolved_at IS NULL) AS open_alerts,
       CASE WHEN k.last_seen_at IS NULL OR k.last_seen_at < now() - interval '2 minutes' THEN 'offline'
            WHEN coalesce(j.reconciliation, 0) > 0 OR coalesce(j.failed, 0) > 0 THEN 'attention'
            WHEN coalesce(j.pending, 0) > 5 THEN 'backlogged'
            ELSE 'healthy' END AS status
  FROM kiosk.kiosks k
  LEFT JOIN (SELECT d.kiosk_id,
                    count(*) FILTER (WHERE d.status IN ('pending', 'retry_wait')) AS pending,
                    count(*) FILTER (WHERE d.status IN ('claimed', 'dispensing')) AS dispensing,
                    count(*) FILTER (WHERE d.status = 'needs_reconciliation') AS reconciliation,
                    count(*) FILTER (WHERE d.status = 'failed') AS failed
               FROM atm.dispense_jobs d GROUP BY d.kiosk_id) j ON j.kiosk_id = k.kiosk_id
 WHERE k.kind = 'atm';

CREATE OR REPLACE VIEW atm.transaction_summary AS
SELECT (t.created_at AT TIME ZONE 'UTC')::date AS day, t.kiosk_id,
       count(*) AS transactions,
       count(*) FILTER (WHERE t.paid_at IS NOT NULL) AS paid,
       coalesce(sum(t.amount) FILTER (WHERE t.paid_at IS NOT NULL), 0) AS amount,
       coalesce(sum(t.fee) FILTER (WHERE t.paid_at IS NOT NULL), 0) AS fees,
       count(*) FILTER (WHERE t.status = 'completed') AS completed,
       round(count(*) FILTER (WHERE t.status = 'completed')::numeric / count(*), 4) AS success_rate
  FROM atm.transactions t
 GROUP BY 1, 2;

-- Payments owed back to their payers (late, excess, short, over the limit, a second
-- payment), oldest first: what an operator pays back and settles with atm.refund_settle.
CREATE OR REPLACE VIEW atm.refunds_due WITH (security_invoker = true) AS
SELECT r.id AS refund_id, r.created_at, t.kiosk_id, r.transaction_id, r.world_payment_id, r.reason,
       r.amount, r.currency
  FROM atm.refunds r JOIN atm.transactions t ON t.id = r.transaction_id
 WHERE r.status = 'due';

-- The operator's reads: they run as fleet_service, so an operator sees its company's kiosks
-- only (sql/30_kiosk/20_company_rows.sql); another company's kiosk or refund is not found.
GRANT SELECT ON atm.kiosk_health, atm.refunds_due TO fleet_service;

CREATE OR REPLACE FUNCTION atm.kiosk_health_of(kiosk_id text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT to_jsonb(h) FROM atm.kiosk_health h WHERE h.kiosk_id = kiosk_health_of.kiosk_id
$$;
ALTER FUNCTION atm.kiosk_health_of(text) OWNER TO fleet_service;

CREATE OR REPLACE FUNCTION atm.refunds_due_of(kiosk_id text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.created_at, d.refund_id), '[]'::jsonb) FROM atm.refunds_due d
   WHERE refunds_due_of.kiosk_id IS NULL OR d.kiosk_id = refunds_due_of.kiosk_id
$$;
ALTER FUNCTION atm.refunds_due_of(text) OWNER TO fleet_service;

CREATE OR REPLACE FUNCTION atm.refund_visible(refund_id bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM atm.refunds r WHERE r.id = refund_visible.refund_id)
$$;
ALTER FUNCTION atm.refund_visible(bigint) OWNER TO fleet_service;
