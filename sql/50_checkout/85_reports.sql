-- checkout: the operator console's list of refused orders (api.checkout_refused_orders).
-- Runs as fleet_service: an operator sees its company's kiosks only.

-- Refused orders newest first (a reused key with another payload, or a rejection with its
-- reason), open ones only unless include_resolved. The payload is what the kiosk sent.
CREATE OR REPLACE FUNCTION checkout.refused_orders_of(kiosk_id text, include_resolved boolean, max_rows int) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF kiosk_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = refused_orders_of.kiosk_id AND k.kind = 'checkout') THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no self-checkout kiosk %s', kiosk_id),
                             jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', f.id, 'kiosk_id', f.kiosk_id, 'idempotency_key', f.idempotency_key, 'status', f.status,
                   'reason', f.reason, 'message', f.message, 'payload', f.payload, 'times', f.times,
                   'first_seen_at', f.first_seen_at, 'last_seen_at', f.last_seen_at, 'resolved_at', f.resolved_at)
                   ORDER BY f.last_seen_at DESC, f.id DESC), '[]')
            FROM (SELECT * FROM checkout.refused_orders x
                   WHERE (refused_orders_of.kiosk_id IS NULL OR x.kiosk_id = refused_orders_of.kiosk_id)
                     AND (include_resolved OR x.resolved_at IS NULL)
                   ORDER BY x.last_seen_at DESC, x.id DESC LIMIT max_rows) f);
END $$;
ALTER FUNCTION checkout.refused_orders_of(text, boolean, int) OWNER TO fleet_service;
