-- atm: the operator console's reads (api.atm_kiosks, api.atm_jobs, api.atm_transactions).
-- Each runs as fleet_service, so an operator sees its company's kiosks and what hangs off
-- them only (sql/30_kiosk/20_company_rows.sql); admin sees all.

-- Every ATM kiosk's health (atm.kiosk_health), kiosks needing a person first.
CREATE OR REPLACE FUNCTION atm.kiosks_health() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(h) ORDER BY
           array_position(ARRAY['attention', 'offline', 'backlogged', 'healthy'], h.status), h.kiosk_id), '[]')
    FROM atm.kiosk_health h
$$;
ALTER FUNCTION atm.kiosks_health() OWNER TO fleet_service;

-- Dispense jobs oldest first with their transaction's amount. status NULL: the live queue,
-- every job not yet completed or failed. The claim token stays with the kiosk.
CREATE OR REPLACE FUNCTION atm.jobs_of(status text, kiosk_id text, max_rows int) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF kiosk_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = jobs_of.kiosk_id AND k.kind = 'atm') THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no ATM kiosk %s', kiosk_id), jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN (SELECT coalesce(jsonb_agg((atm.job_json(j) - 'claim_token') || jsonb_build_object(
                   'amount', t.amount, 'currency', t.currency, 'created_at', j.created_at, 'updated_at', j.updated_at)
                   ORDER BY j.created_at, j.id), '[]')
            FROM (SELECT x.id FROM atm.dispense_jobs x
                   WHERE (jobs_of.kiosk_id IS NULL OR x.kiosk_id = jobs_of.kiosk_id)
                     AND CASE WHEN jobs_of.status IS NULL THEN x.status NOT IN ('completed', 'failed')
                              ELSE x.status = jobs_of.status END
                   ORDER BY x.created_at, x.id LIMIT max_rows) picked
            JOIN atm.dispense_jobs j ON j.id = picked.id
            JOIN atm.transactions t ON t.id = j.transaction_id);
END $$;
ALTER FUNCTION atm.jobs_of(text, text, int) OWNER TO fleet_service;

-- One UTC day's transactions, newest first, with the day's totals (as atm.transaction_summary).
CREATE OR REPLACE FUNCTION atm.transactions_of(day date, kiosk_id text, max_rows int) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  from_ timestamptz := day::timestamp AT TIME ZONE 'UTC';
  to_   timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
  IF kiosk_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = transactions_of.kiosk_id AND k.kind = 'atm') THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no ATM kiosk %s', kiosk_id), jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN jsonb_build_object(
    'day', day,
    'summary', (SELECT jsonb_build_object(
                  'transactions', count(*),
                  'paid', count(*) FILTER (WHERE t.paid_at IS NOT NULL),
                  'completed', count(*) FILTER (WHERE t.status = 'completed'),
                  'amount', coalesce(sum(t.amount) FILTER (WHERE t.paid_at IS NOT NULL), 0)::bigint,
                  'fees', coalesce(sum(t.fee) FILTER (WHERE t.paid_at IS NOT NULL), 0)::bigint,
                  'currency', core.setting('atm.currency') #>> '{}')
                  FROM atm.transactions t
                 WHERE t.created_at >= from_ AND t.created_at < to_
                   AND (transactions_of.kiosk_id IS NULL OR t.kiosk_id = transactions_of.kiosk_id)),
    'transactions', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'id', t.id, 'kiosk_id', t.kiosk_id, 'amount', t.amount, 'fee', t.fee, 'total', t.total,
                       'quarters', t.quarters, 'currency', t.currency, 'status', t.status, 'created_at', t.created_at,
                       'paid_at', t.paid_at, 'expires_at', t.expires_at,
                       'dispense', CASE WHEN j.id IS NULL THEN NULL ELSE jsonb_build_object(
                         'job_id', j.id, 'status', j.status, 'coins_paid', j.coins_paid, 'quarters', j.quarters) END)
                       ORDER BY t.created_at DESC, t.id), '[]')
                       FROM (SELECT * FROM atm.transactions x
                              WHERE x.created_at >= from_ AND x.created_at < to_
                                AND (transactions_of.kiosk_id IS NULL OR x.kiosk_id = transactions_of.kiosk_id)
                              ORDER BY x.created_at DESC, x.id LIMIT max_rows) t
                       LEFT JOIN atm.dispense_jobs j ON j.transaction_id = t.id));
END $$;
ALTER FUNCTION atm.transactions_of(date, text, int) OWNER TO fleet_service;
