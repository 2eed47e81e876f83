-- The business numbers an operator is paged on, in one statement: the RPC server reads
-- it at /metrics scrape time (as authenticator, cached a few seconds) and exposes each as
-- a gauge. Counts only, so it stays cheap to scrape; the offline rules are the
-- dashboards' own views, so a gauge and a dashboard never disagree about a kiosk.
CREATE OR REPLACE FUNCTION core.ops_gauges(dex_stale interval DEFAULT interval '1 day') RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT jsonb_build_object(
    'atm_open_alerts', (SELECT count(*) FROM atm.alerts a WHERE a.resolved_at IS NULL),
    -- Active alerts of every domain (core.alerts, api.alerts), by severity.
    'open_alerts', core.open_alert_counts(),
    'atm_jobs_needing_reconciliation',
      (SELECT count(*) FROM atm.dispense_jobs d WHERE d.status = 'needs_reconciliation'),
    'kiosks_offline', jsonb_build_object(
      'atm', (SELECT count(*) FROM atm.kiosk_health h WHERE h.status = 'offline'),
      'checkout', (SELECT count(*) FROM checkout.kiosk_status s WHERE NOT s.online)),
    -- Legs of unbounded accounts not yet folded into their balance by
    -- ledger.rollup_balances(): growing without bound means the roll-up stopped.
    'ledger_balance_deltas_unfolded', (SELECT count(*) FROM ledger.balance_deltas),
    'card_refunds_pending', (SELECT count(*) FROM cards.refund_requests r WHERE r.status = 'pending'),
    'atm_refunds_due', (SELECT count(*) FROM atm.refunds r WHERE r.status = 'due'),
    'dex_machines_without_recent_data',
      (SELECT count(*) FROM dex.machines m LEFT JOIN dex.machine_state s ON s.machine_id = m.id
        WHERE s.last_read_at IS NULL OR s.last_read_at < now() - dex_stale))
$$;
COMMENT ON FUNCTION core.ops_gauges(interval) IS
  'Counts for monitoring (open ATM alerts, active alerts of every domain by severity, jobs needing reconciliation, offline kiosks, unfolded balance deltas, refunds pending and due, DEX machines without a read within dex_stale), read by the RPC server at /metrics.';
GRANT EXECUTE ON FUNCTION core.ops_gauges(interval) TO authenticator;
