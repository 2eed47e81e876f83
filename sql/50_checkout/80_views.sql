-- checkout: the fleet dashboard and DBA views. Per-kiosk numbers come from one aggregate
-- per source table (LATERAL), never from joining orders with other per-kiosk rows (the
-- ATM source multiplied counts through such a join).

-- [start, end) of "today" in the checkout time zone (setting checkout.timezone).
CREATE OR REPLACE FUNCTION checkout.today() RETURNS tstzrange
LANGUAGE plpgsql STABLE AS $$
DECLARE
  tz  text := core.setting('checkout.timezone') #>> '{}';
  day timestamp := date_trunc('day', now() AT TIME ZONE tz);
BEGIN
  RETURN tstzrange(day AT TIME ZONE tz, (day + interval '1 day') AT TIME ZONE tz, '[)');
END $$;

-- One row per self-checkout kiosk. online = a heartbeat within checkout.online_seconds
-- (20) AND the edge reported its link up. The backlog is what the edge reports: pending
-- orders with the heartbeat, its oldest unsynced order with api.checkout_backlog.
CREATE OR REPLACE VIEW checkout.kiosk_status WITH (security_invoker = true) AS
SELECT k.kiosk_id, k.name, k.location, k.app_version, k.last_seen_at, k.link_up,
       coalesce(k.last_seen_at >= now() - make_interval(secs => (core.setting('checkout.online_seconds'))::int)
                AND k.link_up, false) AS online,
       coalesce(k.pending_orders, 0) AS pending_orders,
       CASE WHEN k.pending_orders > 0 THEN b.oldest_pending_at END AS oldest_pending_at,
       CASE WHEN k.pending_orders > 0 AND b.oldest_pending_at IS NOT NULL
            THEN greatest(0, floor(extract(epoch FROM now() - b.oldest_pending_at)))::bigint END AS oldest_unsynced_age_seconds,
       coalesce(t.orders, 0) AS orders_today,
       coalesce(t.revenue, '{}') AS revenue_today,
       t.last_sale_at, s.last_sync_at,
       coalesce(r.open, 0) AS refused_orders
  FROM kiosk.kiosks k
  LEFT JOIN checkout.edge_backlog b ON b.kiosk_id = k.kiosk_id
  LEFT JOIN LATERAL (
    SELECT sum(c.n)::bigint AS orders, jsonb_object_agg(c.currency, c.revenue) AS revenue, max(c.last_sale) AS last_sale_at
      FROM (SELECT o.currency, count(*) AS n, sum(o.total)::bigint AS revenue, max(o.sold_at) AS last_sale
              FROM checkout.orders o
             WHERE o.kiosk_id = k.kiosk_id AND o.sold_at >= lower(checkout.today()) AND o.sold_at < upper(checkout.today())
             GROUP BY o.currency) c) t ON true
  LEFT JOIN LATERAL (SELECT max(sb.received_at) AS last_sync_at FROM checkout.sync_batches sb
                      WHERE sb.kiosk_id = k.kiosk_id AND sb.accepted + sb.duplicate > 0) s ON true
  LEFT JOIN LATERAL (SELECT count(*) AS open FROM checkout.refused_orders f
                      WHERE f.kiosk_id = k.kiosk_id AND f.resolved_at IS NULL) r ON true
 WHERE k.kind = 'checkout';

-- The dashboards are the operator's: they run as fleet_service, so an operator sees its
-- company's kiosks only (sql/30_kiosk/20_company_rows.sql).
CREATE OR REPLACE FUNCTION checkout.dashboard_kiosks() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.kiosk_id), '[]') FROM checkout.kiosk_status s
$$;

CREATE OR REPLACE FUNCTION checkout.dashboard_overview() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT jsonb_build_object(
    'as_of', now(),
    'kiosks', count(*),
    'online', count(*) FILTER (WHERE s.online),
    'offline', count(*) FILTER (WHERE NOT s.online),
    'orders_today', coalesce(sum(s.orders_today), 0)::bigint,
    'revenue_today', (SELECT coalesce(jsonb_object_agg(c.currency, c.revenue), '{}')
                        FROM (SELECT o.currency, sum(o.total)::bigint AS revenue
                                FROM checkout.orders o JOIN kiosk.kiosks k ON k.kiosk_id = o.kiosk_id AND k.kind = 'checkout'
                               WHERE o.sold_at >= lower(checkout.today()) AND o.sold_at < upper(checkout.today()) GROUP BY o.currency) c),
    'pending_orders', coalesce(sum(s.pending_orders), 0)::bigint,
    'kiosks_with_backlog', count(*) FILTER (WHERE s.pending_orders > 0),
    'oldest_unsynced_age_seconds', max(s.oldest_unsynced_age_seconds),
    'refused_orders', coalesce(sum(s.refused_orders), 0)::bigint)
  FROM checkout.kiosk_status s
$$;

GRANT SELECT ON checkout.kiosk_status TO fleet_service;
ALTER FUNCTION checkout.dashboard_kiosks() OWNER TO fleet_service;
ALTER FUNCTION checkout.dashboard_overview() OWNER TO fleet_service;

-- DBA: sales per day (checkout time zone), kiosk and currency.
CREATE OR REPLACE VIEW checkout.sales_per_kiosk_day AS
SELECT (o.sold_at AT TIME ZONE (core.setting('checkout.timezone') #>> '{}'))::date AS day, o.kiosk_id, o.currency,
       count(*) AS orders, sum(o.total)::bigint AS revenue, sum(o.flagged_lines)::bigint AS flagged_lines,
       max(o.received_at - o.created_at) AS max_sync_delay
  FROM checkout.orders o
 GROUP BY 1, 2, 3;

-- DBA: lines whose price differs from the catalog version the kiosk named.
CREATE OR REPLACE VIEW checkout.flagged_lines AS
SELECT o.kiosk_id, l.order_id, l.line_no, l.sku, l.qty, l.unit_price, l.catalog_price, l.price_flag,
       o.catalog_version, o.sold_at
  FROM checkout.order_lines l JOIN checkout.orders o ON o.order_id = l.order_id
 WHERE l.price_flag IS NOT NULL;

-- Invariant (must be empty): every stored order has exactly its one ledger transfer, for
-- its total, from the kiosk's clearing account to its revenue account.
CREATE OR REPLACE VIEW checkout.unbooked_orders AS
SELECT o.order_id, o.kiosk_id, o.total, t.id AS transfer_id, p.revenue, p.clearing
  FROM checkout.orders o
  LEFT JOIN ledger.transfers t ON t.kind = 'checkout_sale' AND t.idempotency_key = o.order_id
  LEFT JOIN LATERAL (
    SELECT sum(pp.amount) FILTER (WHERE a.kind = 'checkout_revenue' AND a.owner_ref = o.kiosk_id) AS revenue,
           sum(pp.amount) FILTER (WHERE a.kind = 'checkout_clearing' AND a.owner_ref = o.kiosk_id || ':' || o.payment_method)
             AS clearing,
           count(*) AS legs
      FROM ledger.postings pp JOIN ledger.accounts a ON a.id = pp.account_id
     WHERE pp.transfer_id = t.id) p ON true
 WHERE t.id IS NULL OR p.revenue IS DISTINCT FROM o.total OR p.clearing IS DISTINCT FROM -o.total OR p.legs <> 2
UNION ALL
-- ...and no checkout transfer exists without its order.
SELECT t.idempotency_key, NULL, NULL, t.id, NULL, NULL
  FROM ledger.transfers t
 WHERE t.kind = 'checkout_sale' AND NOT EXISTS (SELECT 1 FROM checkout.orders o WHERE o.order_id = t.idempotency_key);
