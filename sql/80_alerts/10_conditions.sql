-- alerts: the conditions worth an alert, read from each domain's own tables and views, and
-- the sweep (an upkeep job) that raises what holds and clears what no longer does. Details
-- hold facts that only change when the problem does (times, ids, counts of things), never
-- an age that grows by itself: a change of details is news on the live stream.

CREATE OR REPLACE VIEW core.alert_conditions AS
-- ATM: a payout that gave up, a payout whose coin count is unknown, money owed back.
SELECT 'atm'::text AS domain, 'payout_failed'::text AS kind, 'job:' || j.id AS subject, k.company_id,
       'critical'::text AS severity,
       format('Payout failed on kiosk %s: job %s paid %s of %s quarters (%s)', j.kiosk_id, j.id, j.coins_paid,
              j.quarters, coalesce(j.last_error, 'no error reported')) AS message,
       jsonb_build_object('job_id', j.id, 'kiosk_id', j.kiosk_id, 'transaction_id', j.transaction_id,
                          'coins_paid', j.coins_paid, 'quarters', j.quarters, 'attempts', j.attempts,
                          'last_error', j.last_error) AS details
  FROM atm.dispense_jobs j JOIN kiosk.kiosks k ON k.kiosk_id = j.kiosk_id
 WHERE j.status = 'failed'
UNION ALL
SELECT 'atm', 'reconciliation_needed', 'job:' || j.id, k.company_id, 'critical',
       format('Kiosk %s: job %s needs reconciliation (paid %s of %s quarters as far as known)', j.kiosk_id, j.id,
              j.coins_paid, j.quarters),
       jsonb_build_object('job_id', j.id, 'kiosk_id', j.kiosk_id, 'transaction_id', j.transaction_id,
                          'coins_paid', j.coins_paid, 'quarters', j.quarters, 'last_error', j.last_error)
  FROM atm.dispense_jobs j JOIN kiosk.kiosks k ON k.kiosk_id = j.kiosk_id
 WHERE j.status = 'needs_reconciliation'
UNION ALL
SELECT 'atm', 'refund_due', 'refund:' || r.id, k.company_id, 'warning',
       format('Kiosk %s: %s %s to pay back (%s payment)', t.kiosk_id, r.amount, r.currency, r.reason),
       jsonb_build_object('refund_id', r.id, 'transaction_id', r.transaction_id, 'kiosk_id', t.kiosk_id,
                          'reason', r.reason, 'amount', r.amount, 'currency', r.currency, 'created_at', r.created_at)
  FROM atm.refunds r JOIN atm.transactions t ON t.id = r.transaction_id JOIN kiosk.kiosks k ON k.kiosk_id = t.kiosk_id
 WHERE r.status = 'due'
-- Festival: Stripe money held off a card that is not active, refunds that do not leave.
UNION ALL
SELECT 'festival', 'payment_on_inactive_card', 'held:' || h.held_id, NULL, 'warning',
       format('Card %s: %s %s held (%s); refund it at Stripe', h.card_id, h.amount - h.released, h.currency, h.reason),
       jsonb_build_object('held_id', h.held_id, 'card_id', h.card_id, 'reason', h.reason, 'amount', h.amount,
                          'released', h.released, 'currency', h.currency, 'payment_intent', h.payment_intent,
                          'created_at', h.created_at)
  FROM cards.held_payments h
 WHERE h.resolved_at IS NULL
UNION ALL
SELECT 'festival', 'refund_export_overdue', 'card_refunds', NULL, 'warning',
       format('%s card refund(s) pending for over %s days: run refund_export', count(*),
              (core.setting('alerts.refund_export_days'))::int),
       jsonb_build_object('refunds', count(*), 'amount', sum(r.amount), 'oldest_at', min(r.created_at))
  FROM cards.refund_requests r
 WHERE r.status = 'pending' AND r.currency = 'EUR'
   AND r.created_at < now() - make_interval(days => (core.setting('alerts.refund_export_days'))::int)
HAVING count(*) > 0
UNION ALL
-- The SEPA file carries EUR only: a refund in another currency never leaves by export.
SELECT 'festival', 'refund_not_exportable', 'refund:' || r.refund_id, NULL, 'warning',
       format('Card %s: refund of %s %s cannot go into a SEPA (EUR) export; pay it another way', r.card_id,
              r.amount, r.currency),
       jsonb_build_object('refund_id', r.refund_id, 'card_id', r.card_id, 'amount', r.amount, 'currency', r.currency,
                          'created_at', r.created_at)
  FROM cards.refund_requests r
 WHERE r.status = 'pending' AND r.currency <> 'EUR'
-- Self-checkout: refused orders, kiosks out of touch, a backlog that does not drain.
UNION ALL
SELECT 'checkout', 'refused_order', 'refused:' || f.id, k.company_id, 'warning',
       format('Kiosk %s: order %s refused (%s: %s)', f.kiosk_id, coalesce(f.idempotency_key, '(no key)'), f.reason,
              f.message),
       jsonb_build_object('refused_id', f.id, 'kiosk_id', f.kiosk_id, 'idempotency_key', f.idempotency_key,
                          'status', f.status, 'reason', f.reason, 'first_seen_at', f.first_seen_at)
  FROM checkout.refused_orders f JOIN kiosk.kiosks k ON k.kiosk_id = f.kiosk_id
 WHERE f.resolved_at IS NULL
UNION ALL
SELECT 'checkout', 'kiosk_offline', s.kiosk_id, k.company_id, 'warning',
       format('Kiosk %s (%s) offline since %s', s.kiosk_id, s.name,
              coalesce(to_char(s.last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), 'registration')),
       jsonb_build_object('kiosk_id', s.kiosk_id, 'last_seen_at', s.last_seen_at, 'link_up', s.link_up)
  FROM checkout.kiosk_status s JOIN kiosk.kiosks k ON k.kiosk_id = s.kiosk_id
 WHERE NOT s.online
   AND coalesce(s.last_seen_at, k.created_at)
       < now() - make_interval(secs => (core.setting('alerts.checkout_offline_seconds'))::int)
UNION ALL
SELECT 'checkout', 'backlog_age', s.kiosk_id, k.company_id, 'warning',
       format('Kiosk %s: unsynced orders since %s', s.kiosk_id,
              to_char(s.oldest_pending_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')),
       jsonb_build_object('kiosk_id', s.kiosk_id, 'oldest_pending_at', s.oldest_pending_at)
  FROM checkout.kiosk_status s JOIN kiosk.kiosks k ON k.kiosk_id = s.kiosk_id
 WHERE s.oldest_unsynced_age_seconds >= (core.setting('alerts.checkout_backlog_seconds'))::int
-- Vending: faults the machine reports, machines gone quiet, files whose CRC does not match.
UNION ALL
SELECT 'dex', 'machine_fault', m.case_serial, m.company_id, 'warning',
       format('Machine %s reports %s fault(s): %s', m.case_serial, count(*),
              string_agg(e.source || ' ' || e.code, ', ' ORDER BY e.id)),
       jsonb_build_object('machine', m.case_serial,
                          'faults', jsonb_agg(jsonb_build_object('error_id', e.id, 'source', e.source, 'code', e.code,
                                                                 'first_seen_at', e.first_seen_at) ORDER BY e.id))
  FROM dex.machine_errors e JOIN dex.machines m ON m.id = e.machine_id
 WHERE e.resolved_at IS NULL
 GROUP BY m.id, m.case_serial, m.company_id
UNION ALL
SELECT 'dex', 'no_recent_data', m.case_serial, m.company_id, 'warning',
       format('Machine %s: no DEX read since %s', m.case_serial,
              coalesce(to_char(s.last_read_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), 'registration')),
       jsonb_build_object('machine', m.case_serial, 'last_read_at', s.last_read_at)
  FROM dex.machines m LEFT JOIN dex.machine_state s ON s.machine_id = m.id
 WHERE coalesce(s.last_read_at, m.created_at) < now() - make_interval(hours => (core.setting('alerts.dex_stale_hours'))::int)
UNION ALL
SELECT 'dex', 'crc_mismatch', m.case_serial, m.company_id, 'warning',
       format('Machine %s: the CRC of its latest file (capture %s) does not match: corrupted or forged', m.case_serial,
              c.id),
       jsonb_build_object('machine', m.case_serial, 'capture_id', c.id, 'received_at', c.received_at)
  FROM dex.machines m
  JOIN LATERAL (SELECT x.id, x.received_at, x.crc_status FROM dex.captures x
                 WHERE x.machine_id = m.id ORDER BY x.id DESC LIMIT 1) c ON true
 WHERE c.crc_status = 'mismatch';

COMMENT ON VIEW core.alert_conditions IS
  'Every problem that holds now, one row per (domain, kind, subject): what core.alert_sweep() raises. Upkeep failures are raised by upkeep.run_job instead.';

-- Raise (or refresh) every condition that holds, and clear the domains' active alerts whose
-- condition is gone. Upkeep alerts are upkeep.run_job's to raise and clear.
CREATE OR REPLACE FUNCTION core.alert_sweep(OUT active int, OUT raised int, OUT cleared int)
LANGUAGE plpgsql AS $$
DECLARE
  c record;
  seen bigint[] := '{}'::bigint[];
  before bigint := coalesce((SELECT max(a.id) FROM core.alerts a), 0);
BEGIN
  PERFORM core.alert_lock();  -- before any alert row (see core.alert_lock)
  FOR c IN SELECT * FROM core.alert_conditions LOOP
    seen := seen || core.alert_raise(c.domain, c.kind, c.subject, c.company_id, c.severity, c.message, c.details);
  END LOOP;
  active := cardinality(seen);
  raised := (SELECT count(*)::int FROM unnest(seen) AS s(id) WHERE s.id > before);
  WITH gone AS (
    UPDATE core.alerts a SET status = 'resolved', resolved_at = now(), resolved_by = 'system:sweep'
     WHERE a.status <> 'resolved' AND a.domain <> 'upkeep' AND NOT (a.id = ANY (seen))
    RETURNING 1)
  SELECT count(*)::int INTO cleared FROM gone;
END $$;
COMMENT ON FUNCTION core.alert_sweep() IS
  'Raise or refresh the alert of every row of core.alert_conditions; resolve (as system:sweep) the active atm/festival/checkout/dex alerts whose condition no longer holds. Run by the alert_sweep upkeep job.';
