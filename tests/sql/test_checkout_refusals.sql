-- Self-checkout: which problem of an order the sync reports, word for word - the first
-- problem line by its number (lines past the ninth too), a line's shape before its
-- catalog problems, the catalog version before a line's catalog problem, skus that need
-- quoting - and that valid orders next to them are stored.
BEGIN;
SELECT plan(3);

CREATE FUNCTION pg_temp.adm(q text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('admin', '{"sub": "tap"}', q) $$;
CREATE FUNCTION pg_temp.sync(orders jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('kiosk', '{"sub": "kiosk:tapmsg", "kiosk_id": "tapmsg"}', format('SELECT api.checkout_sync(%L::jsonb)', orders)) $$;
CREATE FUNCTION pg_temp.ord(key text, lines jsonb, version bigint DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('idempotency_key', key, 'created_at', '2026-07-01T12:00:00Z', 'payment_method', 'card',
                            'currency', 'EUR', 'catalog_version', coalesce(version, checkout.catalog_version()), 'lines', lines) $$;
-- n copies of a valid line
CREATE FUNCTION pg_temp.ok(n int) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_agg('{"sku": "msg-eur", "qty": 1, "unit_price": 100}'::jsonb) FROM generate_series(1, n) $$;

SELECT lives_ok($$ SELECT pg_temp.adm($q$ SELECT api.checkout_kiosk_register('tapmsg', 'Messages', NULL, 'mk1') $q$),
                          pg_temp.adm($q$ SELECT api.catalog_upsert('msg-eur', 'E', 100, 'EUR', true, 'mc1') $q$),
                          pg_temp.adm($q$ SELECT api.catalog_upsert('msg-usd', 'U', 100, 'USD', true, 'mc2') $q$) $$,
                'a kiosk, an item in EUR and one in USD');

CREATE TEMP TABLE answer AS SELECT pg_temp.sync(jsonb_build_array(
  pg_temp.ord('msg-order-01', pg_temp.ok(1) || '[{"sku": "x", "qty": 0, "unit_price": 1}, {"sku": 5, "qty": 1, "unit_price": 1}]'),
  pg_temp.ord('msg-order-02', pg_temp.ok(2) || '[{"sku": "x", "qty": 1, "unit_price": 0}, {"x": 1}]'),
  pg_temp.ord('msg-order-03', '[{"sku": "x", "qty": 1, "unit_price": 1, "extra": 1}]'),
  pg_temp.ord('msg-order-04', pg_temp.ok(1) || '[{"sku": "msg-usd", "qty": 1, "unit_price": 100}, {"sku": "nope", "qty": 1, "unit_price": 1}]'),
  pg_temp.ord('msg-order-05', pg_temp.ok(1) || '[{"sku": "nöpe \"q\"", "qty": 1, "unit_price": 1}, {"sku": "msg-usd", "qty": 1, "unit_price": 100}]'),
  pg_temp.ord('msg-order-06', pg_temp.ok(10) || '[{"sku": "zz", "qty": 1, "unit_price": 1}, {"sku": "msg-eur", "qty": 201, "unit_price": 1}]'),
  pg_temp.ord('msg-order-07', pg_temp.ok(9) || '[{"sku": "nine", "qty": 1, "unit_price": 1}]' || pg_temp.ok(3)
                              || '[{"sku": "msg-usd", "qty": 1, "unit_price": 100}]'),
  pg_temp.ord('msg-order-08', pg_temp.ok(99) || '[{"sku": "last", "qty": 1, "unit_price": 1}]'),
  pg_temp.ord('msg-order-09', pg_temp.ok(101)),
  pg_temp.ord('msg-order-10', '[{"sku": "nope", "qty": 1, "unit_price": 1}]', checkout.catalog_version() + 1),
  pg_temp.ord('msg-order-11', pg_temp.ok(100)),
  pg_temp.ord('msg-order-12', pg_temp.ok(3) || '[{"sku": "msg-eur", "qty": 2, "unit_price": 101}]')
)) AS a;

SELECT is((SELECT array_agg(concat_ws(' | ', r ->> 'status', r ->> 'reason', r ->> 'message') ORDER BY (r ->> 'index')::int)
             FROM answer, jsonb_array_elements(a -> 'results') r),
          ARRAY['rejected | bad_qty | lines[1].qty must be an integer 1..200',
                'rejected | bad_unit_price | lines[2].unit_price must be an integer 1..10000000 (minor units)',
                'rejected | bad_line | lines[0] must be {sku: string, qty: integer, unit_price: integer}',
                'rejected | currency_mismatch | lines[1]: sku msg-usd is sold in USD, the order is in EUR',
                'rejected | unknown_sku | lines[1]: unknown sku nöpe "q"',
                'rejected | bad_qty | lines[11].qty must be an integer 1..200',
                'rejected | unknown_sku | lines[9]: unknown sku nine',
                'rejected | unknown_sku | lines[99]: unknown sku last',
                'rejected | bad_lines | lines must be an array of 1 to 100 {sku, qty, unit_price}',
                'rejected | unknown_catalog_version | catalog_version ' || checkout.catalog_version() + 1
                  || ' is newer than the central''s ' || checkout.catalog_version(),
                'accepted',
                'accepted'],
          'each order''s first problem, as it was always worded');
SELECT is((SELECT array_agg(o.line_count || '/' || o.flagged_lines || '/' || o.total ORDER BY o.order_id)
             FROM checkout.orders o WHERE o.kiosk_id = 'tapmsg'),
          ARRAY['100/0/10000', '4/1/502'], 'the valid orders are stored with their lines, flags and totals');

SELECT * FROM finish();
ROLLBACK;
