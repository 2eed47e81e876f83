-- Self-checkout: the sync writes each order's payload hash as the text of the normalized
-- order, byte for byte what jsonb_build_object(...)::text printed before (hashes stored
-- then must still tell a resend from a reused key). Checked against that formula for
-- accepted orders and for refused ones whose skus need JSON escaping (quotes, backslashes,
-- control characters, non-ASCII), plus a resend of each: duplicate, never mismatch.
BEGIN;
SELECT plan(6);

CREATE FUNCTION pg_temp.adm(q text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('admin', '{"sub": "tap"}', q) $$;
CREATE FUNCTION pg_temp.sync(orders jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('kiosk', '{"sub": "kiosk:taphash", "kiosk_id": "taphash"}', format('SELECT api.checkout_sync(%L::jsonb)', orders)) $$;
-- The hash as the sync computed it before: the jsonb object printed as text.
CREATE FUNCTION pg_temp.old_hash(payload jsonb) RETURNS bytea LANGUAGE sql AS $$
  SELECT sha256(convert_to(jsonb_build_object(
           'idempotency_key', payload ->> 'idempotency_key',
           'created_at', to_char(checkout.parse_time(payload ->> 'created_at') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'payment_method', payload ->> 'payment_method', 'currency', payload ->> 'currency',
           'catalog_version', (payload ->> 'catalog_version')::bigint,
           'lines', (SELECT jsonb_agg(jsonb_build_object('sku', l ->> 'sku', 'qty', (l ->> 'qty')::int,
                                                         'unit_price', (l ->> 'unit_price')::bigint) ORDER BY i)
                       FROM jsonb_array_elements(payload -> 'lines') WITH ORDINALITY AS x(l, i)))::text, 'UTF8')) $$;

SELECT lives_ok($$ SELECT pg_temp.adm($q$ SELECT api.checkout_kiosk_register('taphash', 'Hash', NULL, 'hk1') $q$) $$, 'a kiosk');
SELECT lives_ok($$ SELECT pg_temp.adm($q$ SELECT api.catalog_upsert('hash-a', 'A', 120, 'EUR', true, 'hc1') $q$),
                          pg_temp.adm($q$ SELECT api.catalog_upsert('Hash.B:2_x-y', 'B', 7, 'EUR', true, 'hc2') $q$) $$, 'two items');

CREATE TEMP TABLE sent AS
SELECT jsonb_build_object('idempotency_key', 'hash-order-' || n, 'created_at', t, 'payment_method', m,
                          'currency', 'EUR', 'catalog_version', checkout.catalog_version(), 'lines', lines) AS payload
  FROM (VALUES
    (1, '2026-07-01T12:00:00Z', 'card', '[{"sku": "hash-a", "qty": 1, "unit_price": 120}]'::jsonb),
    (2, '2026-02-28 23:59:59.5+02:00', 'cash', '[{"sku": "Hash.B:2_x-y", "qty": 200, "unit_price": 10000000},
                                                 {"sku": "hash-a", "qty": 3, "unit_price": 1}]'),
    (3, '2024-02-29T00:00:00.000001-1530', 'mobile', '[{"sku": "hash-a", "qty": 1e1, "unit_price": 120}]'),
    (4, '2026-07-01T12:00:00Z', 'card', '[{"sku": "say \"hi\"", "qty": 1, "unit_price": 5}]'),
    (5, '2026-07-01T12:00:00Z', 'card', '[{"sku": "back\\slash/", "qty": 1, "unit_price": 5}]'),
    (6, '2026-07-01T12:00:00Z', 'card', '[{"sku": "tab\tnew\nline\u0001\u001f", "qty": 1, "unit_price": 5}]'),
    (7, '2026-07-01T12:00:00Z', 'card', '[{"sku": "Ünïcödé € 😀 \u2028", "qty": 1, "unit_price": 5},
                                          {"sku": "hash-a", "qty": 1, "unit_price": 120}]'),
    (8, '2026-07-01T12:00:00Z', 'card', '[{"sku": "", "qty": 1, "unit_price": 5}]')
  ) AS v(n, t, m, lines);

CREATE TEMP TABLE answer AS SELECT pg_temp.sync((SELECT jsonb_agg(payload) FROM sent)) AS a;
SELECT is((SELECT array_agg(r ->> 'status' ORDER BY (r ->> 'index')::int) FROM answer, jsonb_array_elements(a -> 'results') r),
          ARRAY['accepted', 'accepted', 'accepted', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected'],
          'catalog skus are stored, the others refused as unknown');
SELECT is((SELECT count(*) FROM checkout.orders o JOIN sent s ON o.order_id = 'taphash:' || (s.payload ->> 'idempotency_key')
            WHERE o.payload_hash = pg_temp.old_hash(s.payload)), 3::bigint,
          'a stored order''s hash is the one the jsonb text gave');
SELECT is((SELECT count(*) FROM checkout.refused_orders f JOIN sent s ON f.idempotency_key = s.payload ->> 'idempotency_key'
            WHERE f.kiosk_id = 'taphash' AND f.payload_hash = pg_temp.old_hash(s.payload)), 5::bigint,
          'so is a refused order''s, escaped skus included');
SELECT is((SELECT array_agg(r ->> 'status' ORDER BY (r ->> 'index')::int)
             FROM jsonb_array_elements(pg_temp.sync((SELECT jsonb_agg(payload) FROM sent)) -> 'results') r),
          ARRAY['duplicate', 'duplicate', 'duplicate', 'rejected', 'rejected', 'rejected', 'rejected', 'rejected'],
          'a resend of the batch is duplicate');

SELECT * FROM finish();
ROLLBACK;
