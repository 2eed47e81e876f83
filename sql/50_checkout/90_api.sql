-- api: always-on self-checkout. The calling kiosk is always resolved from the token's
-- kiosk_id claim or the login role (checkout.require_checkout_kiosk), never an argument.

CREATE OR REPLACE FUNCTION api.catalog() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT checkout.catalog()
$$;
COMMENT ON FUNCTION api.catalog() IS
  'Everyone: the self-checkout catalog {version, items: [{sku, name, price (minor units), currency, active}], limits: {max_batch}}. version changes on every edit; kiosks name it in each order. limits.max_batch is the most orders one checkout_sync call takes (setting checkout.max_batch). GET answers carry an ETag.';
GRANT EXECUTE ON FUNCTION api.catalog() TO anon, kiosk, kiosk_agent, staff, operator, admin;

CREATE OR REPLACE FUNCTION api.catalog_upsert(sku text, name text, price bigint, currency text, active boolean,
                                              request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('catalog_upsert', request_id, jsonb_build_object(
    'sku', sku, 'name', name, 'price', price, 'currency', currency, 'active', active));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('catalog_upsert', request_id, checkout.catalog_upsert(sku, name, price, currency, active));
END $$;
COMMENT ON FUNCTION api.catalog_upsert(text, text, bigint, text, boolean, text) IS
  'Admin: create or change a self-checkout item (sku 1-64 of A-Z a-z 0-9 _.:-, price 1..10000000 minor units, ISO currency). A change takes the next catalog version; the same values again change nothing (changed: false).';
GRANT EXECUTE ON FUNCTION api.catalog_upsert(text, text, bigint, text, boolean, text) TO admin;

CREATE OR REPLACE FUNCTION api.checkout_kiosk_register(kiosk_id text, name text, location text, request_id text,
                                                       company_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb; k kiosk.kiosks;
BEGIN
  replay := core.idem_begin('checkout_kiosk_register', request_id, jsonb_build_object(
    'kiosk_id', kiosk_id, 'name', name, 'location', location, 'company_id', company_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  k := kiosk.register(kiosk_id, 'checkout', name, location, company_id);
  RETURN core.idem_finish('checkout_kiosk_register', request_id, jsonb_build_object(
    'kiosk_id', k.kiosk_id, 'kind', k.kind, 'name', k.name, 'location', k.location, 'company_id', k.company_id));
END $$;
COMMENT ON FUNCTION api.checkout_kiosk_register(text, text, text, text, text) IS
  'Admin: register a self-checkout kiosk (kiosk_id: 1-40 of a-z 0-9 _) of company_id (its operators see it; NULL: admins only). Its edge then syncs with a kiosk token carrying that kiosk_id claim (kioskledger token kiosk --claim kiosk_id=...). CONFLICT if the id exists.';
GRANT EXECUTE ON FUNCTION api.checkout_kiosk_register(text, text, text, text, text) TO admin;

CREATE OR REPLACE FUNCTION api.checkout_sync(orders jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN checkout.sync(checkout.require_checkout_kiosk(), orders);
END $$;
COMMENT ON FUNCTION api.checkout_sync(jsonb) IS
  'Self-checkout kiosk: push up to checkout.max_batch (500) orders [{idempotency_key 8..128, created_at ISO 8601, payment_method card|mobile|cash, currency, catalog_version, lines: [{sku, qty 1..200, unit_price}]}] in one transaction. Order id = kiosk_id:idempotency_key. Per order, in input order: accepted (stored, ledger transfer posted), duplicate (identical payload already stored), mismatch (same key, other payload: reported, never overwritten) or rejected with reason and message. Lines keep the kiosk''s prices; lines that differ from the named catalog version are flagged. Retry-safe: the order keys are the idempotency keys.';
GRANT EXECUTE ON FUNCTION api.checkout_sync(jsonb) TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.checkout_backlog(oldest_pending_at timestamptz DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN checkout.backlog_report(checkout.require_checkout_kiosk(), oldest_pending_at);
END $$;
COMMENT ON FUNCTION api.checkout_backlog(timestamptz) IS
  'Self-checkout kiosk: report the creation time of its oldest order not yet synced (null when none), next to kiosk_heartbeat''s pending_orders; the dashboard shows its age.';
GRANT EXECUTE ON FUNCTION api.checkout_backlog(timestamptz) TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.checkout_orders(kiosk_id text DEFAULT NULL, since timestamptz DEFAULT NULL,
                                               "limit" int DEFAULT 100) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN checkout.orders_of(kiosk_id, since, "limit");
END $$;
COMMENT ON FUNCTION api.checkout_orders(text, timestamptz, int) IS
  'Operator/admin (an operator: its company''s kiosks): stored self-checkout orders sold at or after since (all kiosks when kiosk_id is null), oldest first, at most limit (1..1000, default 100); each with its lines as charged (catalog_price, price_flag) and its ledger transfer_id. KIOSK_NOT_FOUND for an unknown kiosk.';
GRANT EXECUTE ON FUNCTION api.checkout_orders(text, timestamptz, int) TO operator, admin;

CREATE OR REPLACE FUNCTION api.dashboard_overview() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT checkout.dashboard_overview()
$$;
COMMENT ON FUNCTION api.dashboard_overview() IS
  'Operator/admin (an operator: its company''s kiosks): the self-checkout fleet now: kiosks, online (heartbeat within checkout.online_seconds = 20 s and link up) / offline, orders_today and revenue_today per currency (sale time, checkout.timezone), pending_orders and kiosks_with_backlog as the kiosks report them, oldest_unsynced_age_seconds, open refused_orders.';
GRANT EXECUTE ON FUNCTION api.dashboard_overview() TO operator, admin;

CREATE OR REPLACE FUNCTION api.dashboard_kiosks() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT checkout.dashboard_kiosks()
$$;
COMMENT ON FUNCTION api.dashboard_kiosks() IS
  'Operator/admin (an operator: its company''s kiosks): per self-checkout kiosk: online, last_seen_at, link_up, app_version, pending_orders, oldest_unsynced_age_seconds, orders_today, revenue_today per currency, last_sale_at, last_sync_at, open refused_orders.';
GRANT EXECUTE ON FUNCTION api.dashboard_kiosks() TO operator, admin;

CREATE OR REPLACE FUNCTION api.checkout_refused_orders(kiosk_id text DEFAULT NULL, include_resolved boolean DEFAULT false,
                                                       "limit" int DEFAULT 100) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN checkout.refused_orders_of(kiosk_id, coalesce(include_resolved, false), "limit");
END $$;
COMMENT ON FUNCTION api.checkout_refused_orders(text, boolean, int) IS
  'Operator/admin (an operator: its company''s kiosks): orders the central refused, newest first, at most limit (1..1000): status mismatch (the key was used with another payload; the stored order stands) or rejected with reason and message, the payload as sent, how many times it came (times), first and last seen. Open ones only unless include_resolved; all kiosks when kiosk_id is null (KIOSK_NOT_FOUND for an unknown one).';
GRANT EXECUTE ON FUNCTION api.checkout_refused_orders(text, boolean, int) TO operator, admin;
