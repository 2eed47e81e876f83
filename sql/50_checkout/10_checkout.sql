-- checkout: the self-checkout catalog and the exactly-once sync of kiosk orders.
-- Kiosks sell offline against their cached catalog and push their orders later; the
-- central stores each sale once (order_id = kiosk_id:idempotency_key, UNIQUE) and posts
-- it to the ledger: payment-method clearing -> the kiosk's sales revenue.

-- The catalog version: every edit is one row of catalog_history with the next version.
CREATE OR REPLACE FUNCTION checkout.catalog_version() RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT coalesce(max(h.version), 0) FROM checkout.catalog_history h
$$;

-- The catalog as kiosks cache it: every item (inactive ones too, so a kiosk stops selling
-- them) and the version they belong to, read in one snapshot; and the sync's limits that
-- are settings, not code (an edge sizes its batches by them: a batch over max_batch is
-- refused whole).
CREATE OR REPLACE FUNCTION checkout.catalog() RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'version', checkout.catalog_version(),
    'limits', jsonb_build_object('max_batch', (core.setting('checkout.max_batch'))::int),
    'items', coalesce((SELECT jsonb_agg(jsonb_build_object('sku', i.sku, 'name', i.name, 'price', i.price,
                                                           'currency', i.currency, 'active', i.active) ORDER BY i.sku)
                         FROM checkout.catalog_items i), '[]'))
$$;

-- Create or change one item. A real change takes the next catalog version (under a lock on
-- the history, so versions commit in order); repeating the current values changes nothing.
CREATE OR REPLACE FUNCTION checkout.catalog_upsert(sku text, name text, price bigint, currency text, active boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  cur     checkout.catalog_items;
  v       bigint;
  clean   text := btrim(name);
BEGIN
  IF sku IS NULL OR sku !~ '^[A-Za-z0-9_.:-]{1,64}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'sku must be 1-64 letters, digits or _.:-', jsonb_build_object('argument', 'sku'));
  ELSIF clean IS NULL OR length(clean) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 characters', jsonb_build_object('argument', 'name'));
  ELSIF price IS NULL OR price NOT BETWEEN 1 AND 10000000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'price must be an integer 1..10000000 (minor units)',
                             jsonb_build_object('argument', 'price'));
  ELSIF currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'currency must be an ISO-4217 code such as EUR',
                             jsonb_build_object('argument', 'currency'));
  ELSIF active IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'active must be true or false', jsonb_build_object('argument', 'active'));
  END IF;

  LOCK TABLE checkout.catalog_history IN EXCLUSIVE MODE;  -- readers go on; edits queue
  SELECT * INTO cur FROM checkout.catalog_items i WHERE i.sku = catalog_upsert.sku;
  IF FOUND AND (cur.name, cur.price, cur.currency, cur.active) = (clean, price, currency, active) THEN
    RETURN jsonb_build_object('sku', cur.sku, 'name', cur.name, 'price', cur.price, 'currency', cur.currency,
                              'active', cur.active, 'version', cur.version, 'changed', false,
                              'catalog_version', checkout.catalog_version());
  END IF;
  v := checkout.catalog_version() + 1;
  INSERT INTO checkout.catalog_history (version, sku, name, price, currency, active, actor)
  VALUES (v, catalog_upsert.sku, clean, price, currency, active, core.actor());
  INSERT INTO checkout.catalog_items AS i (sku, name, price, currency, active, version)
  VALUES (catalog_upsert.sku, clean, price, currency, active, v)
  ON CONFLICT ON CONSTRAINT catalog_items_pkey DO UPDATE
     SET name = excluded.name, price = excluded.price, currency = excluded.currency,
         active = excluded.active, version = excluded.version, updated_at = now();
  RETURN jsonb_build_object('sku', catalog_upsert.sku, 'name', clean, 'price', price, 'currency', currency,
                            'active', active, 'version', v, 'changed', true, 'catalog_version', v);
END $$;

-- A kiosk timestamp: strict ISO 8601 with a zone (2024-05-01T10:00:00.123Z, ...+02:00),
-- NULL for anything else. Checked by pattern and day-of-month so the cast cannot raise
-- (PostgreSQL 15 has no pg_input_is_valid, and an exception block per order would cost a
-- subtransaction). Plain SQL: inlined into the sync's query (a PL/pgSQL version cost ~80 us a call).
CREATE OR REPLACE FUNCTION checkout.parse_time(value text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN value ~ '^(20|21)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-5]):?[0-5]\d)$'
         THEN CASE WHEN substr(value, 9, 2)::int <= CASE substr(value, 6, 2)
                                                         WHEN '02' THEN CASE WHEN substr(value, 1, 4)::int % 4 = 0
                                                                              AND substr(value, 1, 4) <> '2100' THEN 29 ELSE 28 END
                                                         WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30
                                                         ELSE 31 END
                   THEN value::timestamptz END END
$$;

-- Sync a batch of one kiosk's orders; the calling kiosk comes from api.checkout_sync.
-- Every order gets its own result, in input order:
--   accepted   stored now, lines kept as charged, one ledger transfer posted;
--   duplicate  this order id is stored with an identical payload (a resend);
--   mismatch   this order id is stored with a different payload: reported, never overwritten;
--   rejected   reason + message (shape, unknown sku, currency, catalog version...).
-- A refused order never raises: the batch is one transaction and the others go through.
-- The payload hash covers the normalized order: idempotency_key, created_at (as UTC),
-- payment_method, currency, catalog_version and the lines [{sku, qty, unit_price}] in order,
-- hashed as the text of that jsonb object (keys in jsonb's order: shorter first). The text is
-- written out directly, byte for byte what jsonb_build_object(...)::text gives (stored hashes
-- must keep matching resends): building the jsonb and printing it cost ~30% of a batch.
-- Concurrent resends of one order meet in INSERT ... ON CONFLICT on the order id (in id
-- order, so two batches cannot deadlock); the loser waits, then reads the winner's row.
-- Steps pass arrays, not CTE joins: joins on CTE results get row estimates of 1 and
-- nested loops (measured: ~30% of a batch of 100).
CREATE OR REPLACE FUNCTION checkout.sync(kiosk_id text, orders jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  max_batch   int := core.setting('checkout.max_batch')::int;
  cur_version bigint;
  -- per order, in input order
  n_idx       int[];
  keys        text[];
  ids         text[];
  shape_bad   text[];
  cat_bad     text[];
  msgs        text[];
  hashes      bytea[];
  totals      bigint[];
  currencies  text[];
  methods     text[];
  created     timestamptz[];
  versions    bigint[];
  line_counts int[];
  flagged     int[];
  is_cand     boolean[];
  raw         jsonb[];
  -- per line of a well-formed order
  l_n         int[];
  l_i         int[];
  l_sku       text[];
  l_qty       int[];
  l_price     bigint[];
  l_cat_price bigint[];
  l_flag      text[];
  -- outcome
  new_ids     text[];
  is_new      boolean[];  -- per order, in input order: inserted by this call
  statuses    text[];
  stored_tot  bigint[];
  rec         record;
  acct_cur    text;
  acct_meth   text;
  clearing    bigint;
  revenue     bigint;
  results     jsonb;
  counts      record;
BEGIN
  IF orders IS NULL OR jsonb_typeof(orders) <> 'array' OR jsonb_array_length(orders) NOT BETWEEN 1 AND max_batch THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('orders must be an array of 1 to %s orders', max_batch),
                             jsonb_build_object('argument', 'orders'));
  END IF;
  cur_version := checkout.catalog_version();

  -- 1. Parse and check every order and line in one read-only pass. Shape problems make an
  --    order "rejected" whatever is stored; catalog problems only matter for a new order.
  WITH o AS (
    SELECT e.n::int AS n, e.o, f.*,
           CASE
             WHEN NOT f.obj THEN 'invalid_order'
             WHEN e.o - ARRAY['idempotency_key', 'created_at', 'payment_method', 'currency', 'catalog_version', 'lines'] <> '{}'
               THEN 'invalid_order'
             WHEN f.key IS NULL OR f.key !~ '^[A-Za-z0-9_.:-]+$' OR length(f.key) NOT BETWEEN 8 AND 128 THEN 'bad_idempotency_key'
             WHEN f.created_at IS NULL THEN 'bad_created_at'
             WHEN f.payment_method IS NULL OR f.payment_method NOT IN ('card', 'mobile', 'cash') THEN 'bad_payment_method'
             WHEN f.currency IS NULL OR f.currency !~ '^[A-Z]{3}$' THEN 'bad_currency'
             WHEN f.catalog_version IS NULL THEN 'bad_catalog_version'
             WHEN jsonb_typeof(e.o -> 'lines') IS DISTINCT FROM 'array' OR jsonb_array_length(e.o -> 'lines') NOT BETWEEN 1 AND 100
               THEN 'bad_lines'
           END AS shape_reason
      FROM jsonb_array_elements(orders) WITH ORDINALITY AS e(o, n)
     CROSS JOIN LATERAL (SELECT jsonb_typeof(e.o) = 'object' AS obj) t
     CROSS JOIN LATERAL (
       SELECT t.obj,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'idempotency_key') = 'string' THEN e.o ->> 'idempotency_key' END AS key,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'created_at') = 'string'
                   THEN checkout.parse_time(e.o ->> 'created_at') END AS created_at,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'payment_method') = 'string' THEN e.o ->> 'payment_method' END AS payment_method,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'currency') = 'string' THEN e.o ->> 'currency' END AS currency,
              CASE WHEN t.obj AND jsonb_typeof(e.o -> 'catalog_version') = 'number'
                        AND (e.o ->> 'catalog_version') ~ '^[0-9]{1,15}$'
                   THEN (e.o ->> 'catalog_version')::bigint END AS catalog_version
        OFFSET 0) f  -- OFFSET 0: evaluated once per order, not once per reference
  ), om AS (
    SELECT o.*,
           CASE o.shape_reason
             WHEN 'invalid_order' THEN
               CASE WHEN NOT o.obj THEN 'an order must be a JSON object'
                    ELSE 'unknown field(s) ' || (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(o.o - ARRAY[
                           'idempotency_key', 'created_at', 'payment_method', 'currency', 'catalog_version', 'lines']) k) END
             WHEN 'bad_idempotency_key' THEN 'idempotency_key must be 8-128 letters, digits or _.:-'
             WHEN 'bad_created_at' THEN 'created_at must be an ISO 8601 timestamp with a time zone'
             WHEN 'bad_payment_method' THEN 'payment_method must be card, mobile or cash'
             WHEN 'bad_currency' THEN 'currency must be an ISO-4217 code such as EUR'
             WHEN 'bad_catalog_version' THEN 'catalog_version must be a positive integer'
             WHEN 'bad_lines' THEN 'lines must be an array of 1 to 100 {sku, qty, unit_price}'
           END AS shape_message
      FROM o
  ), l AS (
    SELECT o.n, li.i::int AS i, x.sku, x.qty, x.unit_price,
           CASE WHEN NOT x.ok THEN 'bad_line' WHEN x.qty IS NULL THEN 'bad_qty' WHEN x.unit_price IS NULL THEN 'bad_unit_price' END
             AS shape_reason,
           CASE WHEN c.sku IS NULL THEN 'unknown_sku'
                WHEN coalesce(h.currency, c.currency) <> o.currency THEN 'currency_mismatch' END AS catalog_reason,
           h.price AS catalog_price,
           CASE WHEN h.price IS NULL THEN 'not_in_version' WHEN NOT h.active THEN 'inactive_in_version'
                WHEN h.price <> x.unit_price THEN 'price_differs' END AS price_flag,
           coalesce(h.currency, c.currency) AS item_currency, o.currency,
           -- the sku as a JSON string: a catalog sku (letters, digits, _.:-) needs no escaping
           CASE WHEN c.sku IS NOT NULL THEN '"' || x.sku || '"' ELSE to_json(x.sku)::text END AS sku_json
      FROM om o
     CROSS JOIN LATERAL jsonb_array_elements(o.o -> 'lines') WITH ORDINALITY AS li(l, i)
     CROSS JOIN LATERAL (
       SELECT s.ok,
              CASE WHEN s.ok THEN li.l ->> 'sku' END AS sku,
              CASE WHEN s.ok AND (li.l ->> 'qty') ~ '^[0-9]{1,3}$' AND (li.l ->> 'qty')::int BETWEEN 1 AND 200
                   THEN (li.l ->> 'qty')::int END AS qty,
              CASE WHEN s.ok AND (li.l ->> 'unit_price') ~ '^[0-9]{1,8}$' AND (li.l ->> 'unit_price')::bigint BETWEEN 1 AND 10000000
                   THEN (li.l ->> 'unit_price')::bigint END AS unit_price
         FROM (SELECT CASE WHEN jsonb_typeof(li.l) = 'object'
                           THEN coalesce(li.l - ARRAY['sku', 'qty', 'unit_price'] = '{}'::jsonb AND jsonb_typeof(li.l -> 'sku') = 'string'
                                         AND jsonb_typeof(li.l -> 'qty') = 'number' AND jsonb_typeof(li.l -> 'unit_price') = 'number', false)
                           ELSE false END AS ok) s
        OFFSET 0) x
      LEFT JOIN checkout.catalog_items c ON c.sku = x.sku
      LEFT JOIN LATERAL (
        SELECT hh.price, hh.active, hh.currency FROM checkout.catalog_history hh
         WHERE hh.sku = x.sku AND hh.version <= o.catalog_version
         ORDER BY hh.version DESC LIMIT 1) h ON true
     WHERE o.shape_reason IS NULL
  ), lo AS (
    -- An order's first problem line, by line number, from plain min() aggregates (an
    -- ordered aggregate starts a sort for every order, problem or not): line i's shape
    -- problem as i * 4 + its code; its catalog problem as i (3 digits) || 'u' (unknown sku)
    -- or 'c' || the item's currency (compared as bytes). The message is written from them.
    SELECT a.n, a.total, a.line_count, a.flagged, a.lines,
           CASE a.first_shape % 4 WHEN 1 THEN 'bad_line' WHEN 2 THEN 'bad_qty' WHEN 3 THEN 'bad_unit_price' END AS shape_reason,
           format(CASE a.first_shape % 4
                    WHEN 1 THEN 'lines[%s] must be {sku: string, qty: integer, unit_price: integer}'
                    WHEN 2 THEN 'lines[%s].qty must be an integer 1..200'
                    WHEN 3 THEN 'lines[%s].unit_price must be an integer 1..10000000 (minor units)' END,
                  a.first_shape / 4 - 1) AS shape_message,
           CASE substr(a.first_catalog, 4, 1) WHEN 'u' THEN 'unknown_sku' WHEN 'c' THEN 'currency_mismatch' END AS catalog_reason,
           substr(a.first_catalog, 1, 3)::int AS catalog_line,
           substr(a.first_catalog, 5) AS item_currency
      FROM (SELECT l.n,
                   min(l.i * 4 + CASE l.shape_reason WHEN 'bad_line' THEN 1 WHEN 'bad_qty' THEN 2 ELSE 3 END)
                     FILTER (WHERE l.shape_reason IS NOT NULL) AS first_shape,
                   min(lpad(l.i::text, 3, '0') || CASE l.catalog_reason WHEN 'unknown_sku' THEN 'u' ELSE 'c' || l.item_currency END
                       COLLATE "C") FILTER (WHERE l.catalog_reason IS NOT NULL) AS first_catalog,
                   sum(l.qty::bigint * l.unit_price)::bigint AS total,
                   count(*)::int AS line_count,
                   count(l.price_flag)::int AS flagged,
                   string_agg('{"qty": ' || l.qty || ', "sku": ' || l.sku_json || ', "unit_price": ' || l.unit_price || '}', ', '
                              ORDER BY l.i) AS lines
              FROM l GROUP BY l.n) a
  ), v AS (
    SELECT o.n, o.o, o.key, o.created_at, o.payment_method, o.currency, o.catalog_version,
           CASE WHEN o.key ~ '^[A-Za-z0-9_.:-]+$' AND length(o.key) BETWEEN 8 AND 128 THEN sync.kiosk_id || ':' || o.key END AS order_id,
           coalesce(o.shape_reason, lo.shape_reason) AS shape_reason,
           CASE WHEN o.catalog_version > cur_version THEN 'unknown_catalog_version' ELSE lo.catalog_reason END AS catalog_reason,
           coalesce(o.shape_message, lo.shape_message,
                    CASE WHEN o.catalog_version > cur_version
                         THEN format('catalog_version %s is newer than the central''s %s', o.catalog_version, cur_version) END,
                    CASE lo.catalog_reason
                      WHEN 'unknown_sku'
                        THEN format('lines[%s]: unknown sku %s', lo.catalog_line - 1, o.o -> 'lines' -> (lo.catalog_line - 1) ->> 'sku')
                      WHEN 'currency_mismatch'
                        THEN format('lines[%s]: sku %s is sold in %s, the order is in %s', lo.catalog_line - 1,
                                    o.o -> 'lines' -> (lo.catalog_line - 1) ->> 'sku', lo.item_currency, o.currency)
                    END) AS message,
           CASE WHEN o.shape_reason IS NULL AND lo.shape_reason IS NULL THEN
             sha256(convert_to('{"lines": [' || lo.lines || '], "currency": "' || o.currency || '", "created_at": "'
               || to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '", "payment_method": "'
               || o.payment_method || '", "catalog_version": ' || o.catalog_version || ', "idempotency_key": "' || o.key
               || '"}', 'UTF8')) END AS hash,
           lo.total, lo.line_count, lo.flagged
      FROM om o
      LEFT JOIN lo ON lo.n = o.n
  ), vc AS (
    -- A candidate for insertion: valid, and the first occurrence of its id in this batch.
    SELECT v.*, v.shape_reason IS NULL AND v.catalog_reason IS NULL
                AND v.n = min(v.n) FILTER (WHERE v.shape_reason IS NULL AND v.catalog_reason IS NULL)
                              OVER (PARTITION BY v.order_id) AS cand
      FROM v
  )
  SELECT po.*, pl.*
    INTO n_idx, keys, ids, shape_bad, cat_bad, msgs, hashes, totals, currencies, methods, created, versions,
         line_counts, flagged, is_cand, raw, l_n, l_i, l_sku, l_qty, l_price, l_cat_price, l_flag
    FROM (SELECT array_agg(vc.n ORDER BY vc.n), array_agg(vc.key ORDER BY vc.n), array_agg(vc.order_id ORDER BY vc.n),
                 array_agg(vc.shape_reason ORDER BY vc.n), array_agg(vc.catalog_reason ORDER BY vc.n),
                 array_agg(vc.message ORDER BY vc.n), array_agg(vc.hash ORDER BY vc.n), array_agg(vc.total ORDER BY vc.n),
                 array_agg(vc.currency ORDER BY vc.n), array_agg(vc.payment_method ORDER BY vc.n),
                 array_agg(vc.created_at ORDER BY vc.n), array_agg(vc.catalog_version ORDER BY vc.n),
                 array_agg(vc.line_count ORDER BY vc.n), array_agg(vc.flagged ORDER BY vc.n),
                 array_agg(coalesce(vc.cand, false) ORDER BY vc.n), array_agg(vc.o ORDER BY vc.n)
            FROM vc) po,
         -- The lines' arrays only need to agree with each other (one aggregate pass fills
         -- them all) - each line names its order and number - so they are not sorted.
         (SELECT array_agg(l.n), array_agg(l.i), array_agg(l.sku), array_agg(l.qty), array_agg(l.unit_price),
                 array_agg(l.catalog_price), array_agg(l.price_flag)
            FROM l) pl;

  -- 2. Insert the candidates, in order id order; an id that is already stored (or being
  --    stored by a concurrent resend, which we wait for) is skipped here.
  WITH ins AS (
    INSERT INTO checkout.orders (order_id, kiosk_id, idempotency_key, payload_hash, payment_method, currency,
                                 catalog_version, total, line_count, flagged_lines, created_at, sold_at)
    SELECT u.order_id, sync.kiosk_id, u.key, u.hash, u.method, u.currency, u.version, u.total, u.line_count,
           u.flagged, u.created, least(u.created, now())
      FROM unnest(ids, keys, hashes, methods, currencies, versions, totals, line_counts, flagged, created, is_cand)
           AS u(order_id, key, hash, method, currency, version, total, line_count, flagged, created, cand)
     WHERE u.cand
     ORDER BY u.order_id
    ON CONFLICT ON CONSTRAINT orders_pkey DO NOTHING
    RETURNING order_id
  )
  SELECT array_agg(ins.order_id) INTO new_ids FROM ins;
  new_ids := coalesce(new_ids, '{}');
  -- Usually every candidate went in (a first send): then which did is known without
  -- comparing ids, and nothing is left to look up.
  IF cardinality(new_ids) = cardinality(array_positions(is_cand, true)) THEN
    is_new := is_cand;
  ELSE
    SELECT array_agg(u.cand AND u.order_id = ANY (new_ids) ORDER BY u.n) INTO is_new
      FROM unnest(n_idx, ids, is_cand) AS u(n, order_id, cand);
  END IF;

  INSERT INTO checkout.order_lines (order_id, line_no, sku, qty, unit_price, catalog_price, price_flag)
  SELECT ids[u.n], u.i, u.sku, u.qty, u.price, u.cat_price, u.flag
    FROM unnest(l_n, l_i, l_sku, l_qty, l_price, l_cat_price, l_flag) AS u(n, i, sku, qty, price, cat_price, flag)
   WHERE is_new[u.n];

  -- 3. Classify the rest against the stored orders. A new statement, so it sees the row a
  --    concurrent resend committed while our INSERT waited for it. Each stored order is
  --    reached by its key (LIMIT 1 keeps the generic plan from hashing the whole table),
  --    and only for the orders not inserted just now.
  IF cardinality(array_positions(is_new, false)) = 0 THEN
    statuses := array_fill('accepted'::text, ARRAY[cardinality(n_idx)]);
    stored_tot := totals;
  ELSE
    SELECT array_agg(
             CASE WHEN is_new[r.n] THEN 'accepted'
                  WHEN s.payload_hash IS NOT NULL THEN CASE WHEN s.payload_hash = r.hash THEN 'duplicate' ELSE 'mismatch' END
                  WHEN r.shape IS NOT NULL OR r.cat IS NOT NULL THEN 'rejected'
             END ORDER BY r.n),
           array_agg(CASE WHEN is_new[r.n] THEN r.total ELSE s.total END ORDER BY r.n)
      INTO statuses, stored_tot
      FROM unnest(n_idx, ids, shape_bad, cat_bad, hashes, totals) AS r(n, order_id, shape, cat, hash, total)
      LEFT JOIN LATERAL (SELECT x.payload_hash, x.total FROM checkout.orders x
                          WHERE x.order_id = r.order_id AND NOT is_new[r.n] LIMIT 1) s ON true;
  END IF;
  IF array_position(statuses, NULL) IS NOT NULL THEN
    PERFORM core.raise_error('SERVER_ERROR', 'an order was neither inserted nor found');
  END IF;

  -- 4. One ledger transfer per accepted order, keyed by the order id (a second guard:
  --    ledger.transfers is UNIQUE on kind + key). House accounts append, never lock.
  FOR rec IN
    SELECT r.order_id, r.total, r.currency, r.method
      FROM unnest(ids, totals, currencies, methods, statuses) AS r(order_id, total, currency, method, status)
     WHERE r.status = 'accepted'
     ORDER BY r.currency, r.method, r.order_id
  LOOP
    IF acct_cur IS DISTINCT FROM rec.currency OR acct_meth IS DISTINCT FROM rec.method THEN
      acct_cur := rec.currency;
      acct_meth := rec.method;
      clearing := ledger.house_account('checkout_clearing', sync.kiosk_id || ':' || rec.method, rec.currency);
      revenue := ledger.house_account('checkout_revenue', sync.kiosk_id, rec.currency);
    END IF;
    PERFORM ledger.post_transfer('checkout_sale', ARRAY[clearing, revenue], ARRAY[-rec.total, rec.total],
                                 rec.order_id, jsonb_build_object('order_id', rec.order_id, 'payment_method', rec.method));
  END LOOP;

  -- 5. Refused orders, one row per distinct problem (a resend counts up). A malformed key
  --    can be any length, but it is part of the one-per-problem index (a btree row holds
  --    at most 2704 bytes): keep its first 200 characters; the payload keeps it whole.
  IF 'mismatch' = ANY (statuses) OR 'rejected' = ANY (statuses) THEN
    INSERT INTO checkout.refused_orders AS f (kiosk_id, idempotency_key, status, reason, message, payload, payload_hash)
    SELECT DISTINCT ON (r.key, r.status, r.phash) sync.kiosk_id, r.key, r.status, r.reason, r.message, r.payload, r.phash
      FROM (SELECT left(u.key, 200) AS key, u.status, u.payload, u.n,
                   coalesce(u.hash, sha256(convert_to(u.payload::text, 'UTF8'))) AS phash,
                   CASE WHEN u.status = 'mismatch' THEN 'idempotency_key_reused' ELSE coalesce(u.shape, u.cat) END AS reason,
                   CASE WHEN u.status = 'mismatch'
                        THEN format('order %s is already stored with a different payload; the stored order stands', u.order_id)
                        ELSE u.msg END AS message
              FROM unnest(n_idx, keys, ids, statuses, shape_bad, cat_bad, msgs, hashes, raw)
                   AS u(n, key, order_id, status, shape, cat, msg, hash, payload)
             WHERE u.status IN ('mismatch', 'rejected')) r
     ORDER BY r.key, r.status, r.phash, r.n
    ON CONFLICT ON CONSTRAINT refused_orders_one_per_problem DO UPDATE
       SET times = f.times + 1, last_seen_at = now();
  END IF;

  SELECT count(*) FILTER (WHERE s = 'accepted') AS accepted, count(*) FILTER (WHERE s = 'duplicate') AS duplicate,
         count(*) FILTER (WHERE s = 'mismatch') AS mismatch, count(*) FILTER (WHERE s = 'rejected') AS rejected
    INTO counts FROM unnest(statuses) s;
  INSERT INTO checkout.sync_batches (kiosk_id, orders, accepted, duplicate, mismatch, rejected)
  VALUES (sync.kiosk_id, cardinality(statuses), counts.accepted, counts.duplicate, counts.mismatch, counts.rejected);
  PERFORM kiosk.touch(sync.kiosk_id);

  -- An accepted or duplicate order has a key, an id and a total: nothing to strip. The
  -- array is made jsonb once (jsonb_agg re-reads every element it appends).
  SELECT to_jsonb(array_agg(CASE WHEN r.status IN ('accepted', 'duplicate')
                        THEN jsonb_build_object('index', r.n - 1, 'idempotency_key', r.key, 'order_id', r.order_id,
                                                'status', r.status, 'total', r.total)
                        ELSE jsonb_strip_nulls(jsonb_build_object(
           'index', r.n - 1, 'idempotency_key', r.key, 'order_id', r.order_id, 'status', r.status,
           'reason', CASE r.status WHEN 'mismatch' THEN 'idempotency_key_reused' WHEN 'rejected' THEN coalesce(r.shape, r.cat) END,
           'message', CASE r.status
                        WHEN 'mismatch' THEN 'this idempotency_key was already used for an order with a different payload'
                        WHEN 'rejected' THEN r.msg END)) END ORDER BY r.n))
    INTO results
    FROM unnest(n_idx, keys, ids, statuses, stored_tot, shape_bad, cat_bad, msgs)
         AS r(n, key, order_id, status, total, shape, cat, msg);
  RETURN jsonb_build_object('results', results, 'accepted', counts.accepted, 'duplicate', counts.duplicate,
                            'mismatch', counts.mismatch, 'rejected', counts.rejected, 'catalog_version', cur_version);
END $$;

-- One stored order as the API shows it: the lines as charged with their flags, and the
-- ledger transfer that booked it.
CREATE OR REPLACE FUNCTION checkout.order_json(o checkout.orders) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'order_id', o.order_id, 'kiosk_id', o.kiosk_id, 'idempotency_key', o.idempotency_key,
    'payment_method', o.payment_method, 'currency', o.currency, 'catalog_version', o.catalog_version,
    'total', o.total, 'flagged_lines', o.flagged_lines, 'created_at', o.created_at, 'sold_at', o.sold_at,
    'received_at', o.received_at,
    'transfer_id', (SELECT t.id FROM ledger.transfers t WHERE t.kind = 'checkout_sale' AND t.idempotency_key = o.order_id),
    'lines', (SELECT jsonb_agg(jsonb_build_object('sku', l.sku, 'qty', l.qty, 'unit_price', l.unit_price,
                                                  'amount', l.qty * l.unit_price, 'catalog_price', l.catalog_price,
                                                  'price_flag', l.price_flag) ORDER BY l.line_no)
                FROM checkout.order_lines l WHERE l.order_id = o.order_id))
$$;

-- max_orders is api.checkout_orders' "limit": errors name the argument the client sent.
-- An operator's read: runs as fleet_service, so another company's kiosk is not found.
CREATE OR REPLACE FUNCTION checkout.orders_of(kiosk_id text, since timestamptz, max_orders int) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF max_orders IS NULL OR max_orders NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  END IF;
  IF kiosk_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = orders_of.kiosk_id AND k.kind = 'checkout') THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no self-checkout kiosk %s', kiosk_id),
                             jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN (SELECT coalesce(jsonb_agg(checkout.order_json(o) ORDER BY o.sold_at, o.order_id), '[]')
            FROM (SELECT * FROM checkout.orders x
                   WHERE (orders_of.kiosk_id IS NULL OR x.kiosk_id = orders_of.kiosk_id)
                     AND (since IS NULL OR x.sold_at >= since)
                   ORDER BY x.sold_at, x.order_id LIMIT max_orders) o);
END $$;

ALTER FUNCTION checkout.orders_of(text, timestamptz, int) OWNER TO fleet_service;

-- What the edge reports about its backlog: the creation time of its oldest unsynced order.
CREATE OR REPLACE FUNCTION checkout.backlog_report(kiosk_id text, oldest_pending_at timestamptz) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO checkout.edge_backlog AS b (kiosk_id, oldest_pending_at) VALUES (backlog_report.kiosk_id, oldest_pending_at)
  ON CONFLICT ON CONSTRAINT edge_backlog_pkey DO UPDATE SET oldest_pending_at = excluded.oldest_pending_at, reported_at = now();
  RETURN jsonb_build_object('kiosk_id', kiosk_id, 'oldest_pending_at', oldest_pending_at);
END $$;

-- The calling kiosk, which must be a self-checkout kiosk.
CREATE OR REPLACE FUNCTION checkout.require_checkout_kiosk() RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE id text := kiosk.require_kiosk();
BEGIN
  IF NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = id AND k.kind = 'checkout') THEN
    PERFORM core.raise_error('FORBIDDEN', format('kiosk %s is not a self-checkout kiosk', id));
  END IF;
  RETURN id;
END $$;
