-- Self-checkout: catalog versions, kiosk registration, the sync's every per-order outcome
-- and refusal, price flags, the ledger, order listing, backlog reports and the dashboard.
BEGIN;
SELECT plan(113);

CREATE FUNCTION pg_temp.adm(q text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('admin', '{"sub": "tap"}', q) $$;
CREATE FUNCTION pg_temp.op(q text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('operator', '{"sub": "tap-op", "company_id": "tapco"}', q) $$;
CREATE FUNCTION pg_temp.kq(kiosk text, q text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('kiosk', jsonb_build_object('sub', 'kiosk:' || kiosk, 'kiosk_id', kiosk), q) $$;
CREATE FUNCTION pg_temp.sync(kiosk text, orders jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT pg_temp.kq(kiosk, format('SELECT api.checkout_sync(%L::jsonb)', orders)) $$;
-- One order as an edge sends it; catalog version defaults to the current one.
CREATE FUNCTION pg_temp.ord(key text, lines jsonb, version bigint DEFAULT NULL, method text DEFAULT 'card',
                            currency text DEFAULT 'EUR', created timestamptz DEFAULT now()) RETURNS jsonb
LANGUAGE sql AS $$
  SELECT jsonb_build_object('idempotency_key', key, 'created_at', to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                            'payment_method', method, 'currency', currency,
                            'catalog_version', coalesce(version, checkout.catalog_version()), 'lines', lines) $$;
CREATE FUNCTION pg_temp.line(sku text, qty int, price bigint) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('sku', sku, 'qty', qty, 'unit_price', price) $$;
-- The status (or reason) of order i in a sync answer.
CREATE FUNCTION pg_temp.st(answer jsonb, i int) RETURNS text LANGUAGE sql AS $$ SELECT answer -> 'results' -> i ->> 'status' $$;
CREATE FUNCTION pg_temp.why(answer jsonb, i int) RETURNS text LANGUAGE sql AS $$ SELECT answer -> 'results' -> i ->> 'reason' $$;
CREATE FUNCTION pg_temp.rejected(kiosk text, ord jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN pg_temp.st(a, 0) = 'rejected' THEN pg_temp.why(a, 0) ELSE 'not rejected: ' || (a -> 'results' -> 0)::text END
    FROM pg_temp.sync(kiosk, jsonb_build_array(ord)) a $$;
CREATE TEMP TABLE v0 AS SELECT checkout.catalog_version() AS v;

-- Catalog: every change is a new version; history keeps the old prices.
SELECT is(pg_temp.adm($$ SELECT api.catalog_upsert('tap-bread', 'Bread', 250, 'EUR', true, 'cat1') $$) - 'catalog_version',
          jsonb_build_object('sku', 'tap-bread', 'name', 'Bread', 'price', 250, 'currency', 'EUR', 'active', true,
                             'version', (SELECT v + 1 FROM v0), 'changed', true), 'a new item takes the next version');
SELECT is((pg_temp.adm($$ SELECT api.catalog_upsert('tap-milk', ' Milk ', 99, 'EUR', true, 'cat2') $$) ->> 'version')::bigint,
          (SELECT v + 2 FROM v0), 'the next item the next one (name trimmed)');
SELECT is(pg_temp.adm($$ SELECT api.catalog_upsert('tap-beer', 'Beer', 300, 'EUR', true, 'cat3') $$) ->> 'name', 'Beer', 'third item');
SELECT is((pg_temp.adm($$ SELECT api.catalog_upsert('tap-bread', 'Bread', 270, 'EUR', true, 'cat4') $$) ->> 'version')::bigint,
          (SELECT v + 4 FROM v0), 'a price change is a new version');
SELECT is(pg_temp.adm($$ SELECT api.catalog_upsert('tap-bread', 'Bread', 270, 'EUR', true, 'cat5') $$) ->> 'changed', 'false',
          'the same values again change nothing');
SELECT is(checkout.catalog_version(), (SELECT v + 4 FROM v0), '...and keep the version');
SELECT is((SELECT array_agg(price ORDER BY version) FROM checkout.catalog_history WHERE sku = 'tap-bread'), ARRAY[250, 270]::bigint[],
          'history keeps every price of an item');
SELECT is(pg_temp.adm($$ SELECT api.catalog_upsert('tap-bread', 'Bread', 250, 'EUR', true, 'cat1') $$) ->> 'price', '250',
          'a replayed request_id answers what it answered then');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.catalog_upsert('tap-bread', 'Bread', 999, 'EUR', true, 'cat1') $q$) $$,
  'KL000', 'IDEMPOTENCY_MISMATCH: request_id ''cat1'' was already used for catalog_upsert with a different payload', 'key reuse with another payload');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.catalog_upsert('bad sku', 'X', 1, 'EUR', true, 'cat6') $q$) $$,
  'KL000', 'INVALID_REQUEST: sku must be 1-64 letters, digits or _.:-', 'sku format');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.catalog_upsert('tap-x', 'X', 0, 'EUR', true, 'cat7') $q$) $$,
  'KL000', 'INVALID_REQUEST: price must be an integer 1..10000000 (minor units)', 'price must be positive');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.catalog_upsert('tap-x', 'X', 100, 'eur', true, 'cat8') $q$) $$,
  'KL000', 'INVALID_REQUEST: currency must be an ISO-4217 code such as EUR', 'currency format');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.catalog_upsert('tap-x', '  ', 100, 'EUR', true, 'cat9') $q$) $$,
  'KL000', 'INVALID_REQUEST: name must be 1-200 characters', 'name required');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.catalog_upsert('tap-x', 'X', 100, 'EUR', NULL, 'cat10') $q$) $$,
  'KL000', 'INVALID_REQUEST: active must be true or false', 'active required');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.catalog_upsert('tap-x', 'X', 100, 'EUR', true, NULL) $q$) $$,
  'KL000', 'INVALID_REQUEST: request_id must be a string of 1 to 255 characters', 'request_id required');
SELECT throws_ok($$ SELECT pg_temp.op($q$ SELECT api.catalog_upsert('tap-x', 'X', 100, 'EUR', true, 'cat11') $q$) $$,
  '42501', NULL, 'operators cannot edit the catalog');
SELECT is((tap.call('anon', '{}', 'SELECT api.catalog()') ->> 'version')::bigint, checkout.catalog_version(),
          'anyone reads the catalog with its version');
SELECT is((SELECT i FROM jsonb_array_elements(tap.call('anon', '{}', 'SELECT api.catalog()') -> 'items') i WHERE i ->> 'sku' = 'tap-bread'),
          '{"sku": "tap-bread", "name": "Bread", "price": 270, "currency": "EUR", "active": true}'::jsonb, 'items carry price and currency');
SELECT is(tap.call('anon', '{}', 'SELECT api.catalog()') -> 'limits', jsonb_build_object('max_batch', core.setting('checkout.max_batch')),
          'the catalog tells kiosks the most orders one sync takes');

-- Kiosks, of the company the operator acts for.
SELECT lives_ok($$ SELECT pg_temp.adm($q$ SELECT api.company_create('tapco', 'Tap Co', 'kc1') $q$) $$, 'a company');
SELECT is(pg_temp.adm($$ SELECT api.checkout_kiosk_register('tapco1', 'Checkout 1', 'Aisle 1', 'kr1', 'tapco') $$),
          '{"kiosk_id": "tapco1", "kind": "checkout", "name": "Checkout 1", "location": "Aisle 1", "company_id": "tapco"}'::jsonb,
          'register a checkout kiosk');
SELECT is(pg_temp.adm($$ SELECT api.checkout_kiosk_register('tapco1', 'Checkout 1', 'Aisle 1', 'kr1', 'tapco') $$) ->> 'kind', 'checkout',
          'registration replays by key');
SELECT lives_ok($$ SELECT pg_temp.adm($q$ SELECT api.checkout_kiosk_register('tapco2', 'Checkout 2', NULL, 'kr2', 'tapco') $q$) $$, 'second kiosk');
SELECT lives_ok($$ SELECT pg_temp.adm($q$ SELECT api.checkout_kiosk_register('tapco3', 'Checkout 3', NULL, 'kr3', 'tapco') $q$) $$, 'third kiosk');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.checkout_kiosk_register('tapco1', 'Again', NULL, 'kr4') $q$) $$,
  'KL000', 'CONFLICT: kiosk tapco1 already exists', 'kiosk ids are unique');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.checkout_kiosk_register('Tap CO', 'X', NULL, 'kr5') $q$) $$,
  'KL000', 'INVALID_REQUEST: kiosk_id must be 1-40 lower-case letters, digits or _', 'kiosk id format');
SELECT throws_ok($$ SELECT pg_temp.op($q$ SELECT api.checkout_kiosk_register('tapco9', 'X', NULL, 'kr6') $q$) $$,
  '42501', NULL, 'operators cannot register kiosks');
SELECT lives_ok($$ SELECT pg_temp.adm($q$ SELECT api.atm_kiosk_register('tapatm1', 'An ATM', NULL, NULL, 1000, 'kr7') $q$) $$, 'an ATM kiosk');

-- Sync: who may call it.
SELECT throws_ok($$ SELECT pg_temp.sync('tapatm1', jsonb_build_array(pg_temp.ord('atm-order-1', '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]'))) $$,
  'KL000', 'FORBIDDEN: kiosk tapatm1 is not a self-checkout kiosk', 'an ATM kiosk cannot sync sales');
SELECT throws_ok($$ SELECT pg_temp.sync('nosuchkiosk', '[{}]') $$,
  'KL000', 'FORBIDDEN: the token names no registered kiosk', 'a token naming no kiosk');
SELECT throws_ok($$ SELECT tap.call('staff', '{"kiosk_id": "tapco1"}', $q$ SELECT api.checkout_sync('[{}]') $q$) $$,
  '42501', NULL, 'a kiosk claim in a staff token does not make a kiosk');
SELECT throws_ok($$ SELECT tap.call('admin', '{"sub": "a"}', $q$ SELECT api.checkout_sync('[{}]') $q$) $$,
  '42501', NULL, 'admins do not sync orders');
SELECT throws_ok($$ SELECT pg_temp.sync('tapco1', '{"orders": []}') $$,
  'KL000', 'INVALID_REQUEST: orders must be an array of 1 to 500 orders', 'orders must be an array');
SELECT throws_ok($$ SELECT pg_temp.sync('tapco1', '[]') $$,
  'KL000', 'INVALID_REQUEST: orders must be an array of 1 to 500 orders', 'an empty batch');
SELECT throws_ok($$ SELECT pg_temp.kq('tapco1', 'SELECT api.checkout_sync(NULL)') $$,
  'KL000', 'INVALID_REQUEST: orders must be an array of 1 to 500 orders', 'a missing batch');
UPDATE core.settings SET value = '2' WHERE key = 'checkout.max_batch';
SELECT throws_ok($$ SELECT pg_temp.sync('tapco1', '[{}, {}, {}]') $$,
  'KL000', 'INVALID_REQUEST: orders must be an array of 1 to 2 orders', 'a batch over checkout.max_batch');
UPDATE core.settings SET value = '500' WHERE key = 'checkout.max_batch';

-- Accepted, then the resend is a duplicate: one order, one transfer.
CREATE TEMP TABLE a1 AS SELECT pg_temp.sync('tapco1', jsonb_build_array(
  pg_temp.ord('order-0001', jsonb_build_array(pg_temp.line('tap-bread', 2, 270), pg_temp.line('tap-milk', 1, 99))))) AS a;
SELECT is((SELECT a -> 'results' -> 0 FROM a1),
          '{"index": 0, "idempotency_key": "order-0001", "order_id": "tapco1:order-0001", "status": "accepted", "total": 639}'::jsonb,
          'accepted with the total computed from the lines in cents');
SELECT is((SELECT a - 'results' FROM a1), jsonb_build_object('accepted', 1, 'duplicate', 0, 'mismatch', 0, 'rejected', 0,
          'catalog_version', checkout.catalog_version()), 'the batch summary names the central catalog version');
SELECT is((SELECT (total, line_count, flagged_lines, payment_method) FROM checkout.orders WHERE order_id = 'tapco1:order-0001'),
          (639::bigint, 2, 0, 'card'::text), 'the order is stored');
SELECT is((SELECT array_agg((sku, qty, unit_price, catalog_price, price_flag)::text ORDER BY line_no) FROM checkout.order_lines
            WHERE order_id = 'tapco1:order-0001'), ARRAY['(tap-bread,2,270,270,)', '(tap-milk,1,99,99,)'], 'with its lines as charged');
SELECT is((SELECT array_agg(p.amount ORDER BY a.kind) FROM ledger.transfers t JOIN ledger.postings p ON p.transfer_id = t.id
             JOIN ledger.accounts a ON a.id = p.account_id
            WHERE t.kind = 'checkout_sale' AND t.idempotency_key = 'tapco1:order-0001'), ARRAY[-639, 639]::bigint[],
          'one transfer: card clearing -639, kiosk revenue +639');
SELECT is(ledger.balance_of(ledger.house_account('checkout_revenue', 'tapco1', 'EUR')), 639::bigint, 'kiosk revenue');
SELECT is(ledger.balance_of(ledger.house_account('checkout_clearing', 'tapco1:card', 'EUR')), -639::bigint, 'card clearing');
SELECT is(pg_temp.st(pg_temp.sync('tapco1', jsonb_build_array(
  pg_temp.ord('order-0001', jsonb_build_array(pg_temp.line('tap-bread', 2, 270), pg_temp.line('tap-milk', 1, 99))))), 0),
  'duplicate', 'the same order again is a duplicate');
SELECT is(pg_temp.sync('tapco1', jsonb_build_array(jsonb_set(
  pg_temp.ord('order-0001', jsonb_build_array(pg_temp.line('tap-bread', 2, 270), pg_temp.line('tap-milk', 1, 99))),
  '{created_at}', to_jsonb(to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00')))) -> 'results' -> 0 ->> 'total',
  '639', 'the same instant written another way is still a duplicate, with the stored total');
SELECT is((SELECT count(*) FROM ledger.transfers WHERE kind = 'checkout_sale' AND idempotency_key = 'tapco1:order-0001'), 1::bigint,
          'still one transfer');

-- Mismatch: the same key with another payload is reported and never overwrites.
CREATE TEMP TABLE m1 AS SELECT pg_temp.sync('tapco1', jsonb_build_array(
  pg_temp.ord('order-0001', jsonb_build_array(pg_temp.line('tap-bread', 3, 270))))) AS a;
SELECT is((SELECT pg_temp.st(a, 0) || '/' || pg_temp.why(a, 0) FROM m1), 'mismatch/idempotency_key_reused',
          'a reused key with another payload is a mismatch (the old order is not this one''s answer)');
SELECT is((SELECT total FROM checkout.orders WHERE order_id = 'tapco1:order-0001'), 639::bigint, 'the stored order stands');
SELECT is((SELECT (status, reason, times) FROM checkout.refused_orders WHERE kiosk_id = 'tapco1' AND idempotency_key = 'order-0001'),
          ('mismatch'::text, 'idempotency_key_reused'::text, 1), 'the mismatch is recorded for an operator');
SELECT is(pg_temp.st(pg_temp.sync('tapco1', jsonb_build_array(pg_temp.ord('order-0001', jsonb_build_array(pg_temp.line('tap-bread', 3, 270))))), 0),
          'mismatch', 'the same mismatch again');
SELECT is((SELECT array_agg(times) FROM checkout.refused_orders WHERE kiosk_id = 'tapco1' AND idempotency_key = 'order-0001'),
          ARRAY[2], 'resending the same mismatch counts up, no second row');

-- Rejections, each with its reason.
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r001', '[{"sku": "tap-nope", "qty": 1, "unit_price": 100}]')), 'unknown_sku', 'unknown sku');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r002', '[{"sku": "tap-milk", "qty": 0, "unit_price": 99}]')), 'bad_qty', 'qty 0');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r003', '[{"sku": "tap-milk", "qty": 201, "unit_price": 99}]')), 'bad_qty', 'qty 201');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r004', '[{"sku": "tap-milk", "qty": 1.5, "unit_price": 99}]')), 'bad_qty', 'a fractional qty');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r005', '[{"sku": "tap-milk", "qty": 1, "unit_price": 0.99}]')), 'bad_unit_price',
          'money as a float is refused (amounts are integer minor units)');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r006', '[{"sku": "tap-milk", "qty": 1, "unit_price": "99"}]')), 'bad_line', 'a price as a string');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r007', '[{"sku": "tap-milk", "qty": 1, "unit_price": -99}]')), 'bad_unit_price', 'a negative price');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r008', '[{"sku": "tap-milk", "qty": 1}]')), 'bad_line', 'a line without its price');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r009', '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]', currency => 'USD')),
          'currency_mismatch', 'an order in another currency than its items');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r010', '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]', method => 'iou')),
          'bad_payment_method', 'payment method');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r011', '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]') - 'created_at'),
          'bad_created_at', 'created_at missing');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r012', '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]')
          || '{"created_at": "2024-05-01T10:00:00"}'), 'bad_created_at', 'created_at without a time zone');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r013', '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]')
          || '{"created_at": "2024-02-30T10:00:00Z"}'), 'bad_created_at', 'a day that does not exist');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('short', '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]')),
          'bad_idempotency_key', 'a key under 8 characters');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r014', '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]') || '{"total": 1}'),
          'invalid_order', 'an unknown field');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r015', '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]',
          version => checkout.catalog_version() + 1)), 'unknown_catalog_version', 'a catalog version the central never had');
SELECT is(pg_temp.rejected('tapco1', pg_temp.ord('order-r016', '[]')), 'bad_lines', 'no lines');
-- A key of any size is only a rejection: its refusal row keeps the first 200 characters
-- (the one-per-problem index cannot hold more), the payload keeps it whole.
SELECT is(pg_temp.rejected('tapco2', pg_temp.ord((SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i),
          '[{"sku": "tap-milk", "qty": 1, "unit_price": 99}]')), 'bad_idempotency_key', 'a 9600-character key');
SELECT is((SELECT (length(idempotency_key), length(payload ->> 'idempotency_key')) FROM checkout.refused_orders
            WHERE kiosk_id = 'tapco2' AND reason = 'bad_idempotency_key'), (200, 9600), 'its refusal is recorded');
SELECT is(pg_temp.rejected('tapco1', '"an order"'), 'invalid_order', 'not an object');
SELECT is((SELECT count(*) FROM checkout.orders WHERE kiosk_id = 'tapco1' AND idempotency_key LIKE 'order-r%'), 0::bigint,
          'no rejected order is stored');

-- A refused order in the middle of a batch does not touch the others.
CREATE TEMP TABLE mix AS SELECT pg_temp.sync('tapco1', jsonb_build_array(
  pg_temp.ord('order-0002', '[{"sku": "tap-milk", "qty": 2, "unit_price": 99}]', method => 'cash'),
  pg_temp.ord('order-0003', '[{"sku": "tap-nope", "qty": 1, "unit_price": 5}]'),
  pg_temp.ord('order-0001', '[{"sku": "tap-beer", "qty": 1, "unit_price": 300}]'),
  pg_temp.ord('order-0004', '[{"sku": "tap-beer", "qty": 1, "unit_price": 300}]', method => 'mobile'),
  pg_temp.ord('order-0004', '[{"sku": "tap-beer", "qty": 1, "unit_price": 300}]', method => 'mobile'),
  pg_temp.ord('order-0005', '[{"sku": "tap-beer", "qty": 1, "unit_price": 300}]'),
  pg_temp.ord('order-0005', '[{"sku": "tap-beer", "qty": 2, "unit_price": 300}]'))) AS a;
SELECT is((SELECT array_agg(r ->> 'status' ORDER BY (r ->> 'index')::int) FROM mix, jsonb_array_elements(a -> 'results') r),
          ARRAY['accepted', 'rejected', 'mismatch', 'accepted', 'duplicate', 'accepted', 'mismatch'],
          'per-order results in input order; repeats inside one batch are duplicate or mismatch');
SELECT is((SELECT array_agg(order_id ORDER BY order_id) FROM checkout.orders WHERE kiosk_id = 'tapco1'),
          ARRAY['tapco1:order-0001', 'tapco1:order-0002', 'tapco1:order-0004', 'tapco1:order-0005'], 'the valid ones are stored');
SELECT is((SELECT total FROM checkout.orders WHERE order_id = 'tapco1:order-0005'), 300::bigint, 'the first occurrence wins');
SELECT is((SELECT (orders, accepted, duplicate, mismatch, rejected) FROM checkout.sync_batches WHERE kiosk_id = 'tapco1'
            ORDER BY id DESC LIMIT 1), (7, 3, 1, 2, 1), 'the batch is logged with its counts');
SELECT is(pg_temp.st(pg_temp.sync('tapco2', jsonb_build_array(pg_temp.ord('order-0001', '[{"sku": "tap-beer", "qty": 1, "unit_price": 300}]'))), 0),
          'accepted', 'another kiosk''s order with the same key is its own order (the id is kiosk_id:key)');

-- Prices: the kiosk's prices are kept; lines are flagged against the version it named.
CREATE TEMP TABLE vb AS SELECT checkout.catalog_version() AS v;
SELECT is(pg_temp.adm($$ SELECT api.catalog_upsert('tap-beer', 'Beer', 350, 'EUR', true, 'cat20') $$) ->> 'version',
          (SELECT v + 1 FROM vb)::text, 'beer gets dearer');
SELECT is(pg_temp.adm($$ SELECT api.catalog_upsert('tap-chips', 'Chips', 180, 'EUR', true, 'cat21') $$) ->> 'version',
          (SELECT v + 2 FROM vb)::text, 'chips are new');
SELECT is(pg_temp.adm($$ SELECT api.catalog_upsert('tap-milk', 'Milk', 99, 'EUR', false, 'cat22') $$) ->> 'active',
          'false', 'milk is taken off sale');
CREATE TEMP TABLE pf AS SELECT pg_temp.sync('tapco3', jsonb_build_array(
  pg_temp.ord('order-p001', jsonb_build_array(pg_temp.line('tap-beer', 1, 300)), version => (SELECT v FROM vb)),
  pg_temp.ord('order-p002', jsonb_build_array(pg_temp.line('tap-beer', 1, 300), pg_temp.line('tap-chips', 1, 180),
                                              pg_temp.line('tap-milk', 2, 99), pg_temp.line('tap-bread', 1, 1)),
              version => (SELECT v FROM vb) + 3))) AS a;
SELECT is((SELECT pg_temp.st(a, 0) || pg_temp.st(a, 1) FROM pf), 'acceptedaccepted', 'flagged lines do not refuse a sale');
SELECT is((SELECT (unit_price, catalog_price, price_flag) FROM checkout.order_lines WHERE order_id = 'tapco3:order-p001'),
          (300::bigint, 300::bigint, NULL::text), 'the old price under the old version it named is no difference');
SELECT is((SELECT array_agg((sku, unit_price, catalog_price, price_flag)::text ORDER BY line_no) FROM checkout.order_lines
            WHERE order_id = 'tapco3:order-p002'),
          ARRAY['(tap-beer,300,350,price_differs)', '(tap-chips,180,180,)', '(tap-milk,99,99,inactive_in_version)',
                '(tap-bread,1,270,price_differs)'], 'lines flagged against the named version, kept as charged');
SELECT is((SELECT (total, flagged_lines) FROM checkout.orders WHERE order_id = 'tapco3:order-p002'), (679::bigint, 3),
          'the total is what the kiosk charged');
SELECT is(pg_temp.st(pg_temp.sync('tapco3', jsonb_build_array(pg_temp.ord('order-p003', jsonb_build_array(pg_temp.line('tap-chips', 1, 180)),
                                                           version => (SELECT v FROM vb)))), 0), 'accepted', 'a sale naming an older version');
SELECT is((SELECT (price_flag, catalog_price) FROM checkout.order_lines WHERE order_id = 'tapco3:order-p003'),
          ('not_in_version'::text, NULL::bigint), 'an item newer than the named version is flagged');
SELECT is((SELECT count(*) FROM checkout.flagged_lines WHERE kiosk_id = 'tapco3'), 4::bigint, 'the DBA view lists the flagged lines');
-- A stored order stays a duplicate even when the catalog would now refuse it.
SELECT is(pg_temp.adm($$ SELECT api.catalog_upsert('tap-chips', 'Chips', 180, 'USD', true, 'cat23') $$) ->> 'currency',
          'USD', 'chips are now sold in USD');
SELECT is(pg_temp.st(pg_temp.sync('tapco3', jsonb_build_array(pg_temp.ord('order-p003', jsonb_build_array(pg_temp.line('tap-chips', 1, 180)),
          version => (SELECT v FROM vb)))), 0), 'duplicate', 'a resend of a stored order is a duplicate whatever the catalog says now');
SELECT is(pg_temp.rejected('tapco3', pg_temp.ord('order-p004', jsonb_build_array(pg_temp.line('tap-chips', 1, 180)))),
          'currency_mismatch', '...while a new order is checked against it');

SELECT is_empty('SELECT * FROM checkout.unbooked_orders', 'every stored order has its one transfer for its total');
SELECT is_empty('SELECT * FROM ledger.imbalances', 'every transfer sums to zero');
SELECT is_empty('SELECT * FROM ledger.balance_drift', 'balances equal their postings');

-- Listing orders.
SELECT is((SELECT array_agg(o ->> 'order_id') FROM jsonb_array_elements(pg_temp.op($$ SELECT api.checkout_orders('tapco1', NULL, 10) $$)) o),
          ARRAY['tapco1:order-0001', 'tapco1:order-0002', 'tapco1:order-0004', 'tapco1:order-0005'], 'an operator lists a kiosk''s orders');
SELECT is((SELECT o - 'created_at' - 'sold_at' - 'received_at' - 'transfer_id'
             FROM jsonb_array_elements(pg_temp.op($$ SELECT api.checkout_orders('tapco1', NULL, 1) $$)) o),
          '{"order_id": "tapco1:order-0001", "kiosk_id": "tapco1", "idempotency_key": "order-0001", "payment_method": "card",
            "currency": "EUR", "catalog_version": 0, "total": 639, "flagged_lines": 0,
            "lines": [{"sku": "tap-bread", "qty": 2, "unit_price": 270, "amount": 540, "catalog_price": 270, "price_flag": null},
                      {"sku": "tap-milk", "qty": 1, "unit_price": 99, "amount": 99, "catalog_price": 99, "price_flag": null}]}'::jsonb
            || jsonb_build_object('catalog_version', (SELECT v + 4 FROM v0)), 'each with its lines');
SELECT ok((SELECT bool_and((o ->> 'transfer_id') IS NOT NULL) FROM jsonb_array_elements(pg_temp.op($$ SELECT api.checkout_orders('tapco1', NULL, 10) $$)) o),
          'and its ledger transfer');
SELECT is(jsonb_array_length(pg_temp.op(format('SELECT api.checkout_orders(%L, %L, 10)', 'tapco1', now() + interval '1 second'))), 0,
          'since filters by sale time');
SELECT throws_ok($$ SELECT pg_temp.op($q$ SELECT api.checkout_orders('tapco1', NULL, 0) $q$) $$,
  'KL000', 'INVALID_REQUEST: limit must be 1..1000', 'limit bounds');
SELECT throws_ok($$ SELECT pg_temp.op($q$ SELECT api.checkout_orders('nosuch', NULL, 10) $q$) $$,
  'KL000', 'KIOSK_NOT_FOUND: no self-checkout kiosk nosuch', 'unknown kiosk');
SELECT throws_ok($$ SELECT pg_temp.kq('tapco1', $q$ SELECT api.checkout_orders('tapco1', NULL, 10) $q$) $$,
  '42501', NULL, 'kiosks do not list orders');

-- Backlog reports and the dashboard, against numbers worked out by hand. now() is fixed
-- inside this transaction, so ages are exact; fleet totals are compared as deltas.
CREATE TEMP TABLE ov0 AS SELECT checkout.dashboard_overview() AS o;
SELECT is(pg_temp.kq('tapco2', format('SELECT api.checkout_backlog(%L)', now() - interval '90 seconds')) ->> 'kiosk_id', 'tapco2',
          'a kiosk reports its oldest unsynced order');
SELECT throws_ok($$ SELECT tap.call('anon', '{}', 'SELECT api.checkout_backlog(NULL)') $$, '42501', NULL, 'anon cannot');
SELECT is(pg_temp.kq('tapco2', 'SELECT api.kiosk_heartbeat(false, 3, ''edge/1'')') ->> 'kiosk_id', 'tapco2',
          'tapco2 is seen now, but reports its link down and 3 orders pending');
UPDATE kiosk.kiosks SET last_seen_at = now() - interval '5 seconds', link_up = true WHERE kiosk_id = 'tapco1';
UPDATE kiosk.kiosks SET last_seen_at = now() - interval '21 seconds', link_up = true, pending_orders = 0 WHERE kiosk_id = 'tapco3';
-- tapco1 also sold yesterday (kept, not today) and "in the future" (its clock is fast: sold now).
SELECT is((pg_temp.sync('tapco1', jsonb_build_array(
  pg_temp.ord('order-y001', '[{"sku": "tap-bread", "qty": 1, "unit_price": 270}]', created => lower(checkout.today()) - interval '1 hour'),
  pg_temp.ord('order-f001', '[{"sku": "tap-bread", "qty": 1, "unit_price": 270}]', created => now() + interval '2 hours')))) ->> 'accepted', '2', 'a sale from yesterday and one from a fast clock');
UPDATE kiosk.kiosks SET last_seen_at = now() - interval '5 seconds', link_up = true WHERE kiosk_id = 'tapco1';
CREATE TEMP TABLE dk AS SELECT k FROM jsonb_array_elements(pg_temp.op('SELECT api.dashboard_kiosks()')) k WHERE k ->> 'kiosk_id' LIKE 'tapco%';
SELECT is((SELECT jsonb_object_agg(k ->> 'kiosk_id', jsonb_build_array(k -> 'online', k -> 'pending_orders', k -> 'oldest_unsynced_age_seconds',
                                                                      k -> 'orders_today', k -> 'revenue_today')) FROM dk),
          '{"tapco1": [true, 0, null, 5, {"EUR": 1707}],
            "tapco2": [false, 3, 90, 1, {"EUR": 300}],
            "tapco3": [false, 0, null, 3, {"EUR": 1159}]}'::jsonb,
          'per kiosk: online, reported backlog and its age, orders and revenue today per currency');
SELECT is((SELECT k ->> 'app_version' FROM dk WHERE k ->> 'kiosk_id' = 'tapco2'), 'edge/1', 'the app version the edge reported');
SELECT is((SELECT k -> 'refused_orders' FROM dk WHERE k ->> 'kiosk_id' = 'tapco1'), '22'::jsonb, 'open refused orders per kiosk');
SELECT is((SELECT (sold_at = received_at, created_at > received_at) FROM checkout.orders WHERE order_id = 'tapco1:order-f001'),
          (true, true), 'a sale is never later than its arrival');
CREATE TEMP TABLE ov1 AS SELECT checkout.dashboard_overview() AS o;
SELECT is((SELECT jsonb_build_object(
             'kiosks', (b.o ->> 'kiosks')::int - (a.o ->> 'kiosks')::int,
             'online', (b.o ->> 'online')::int - (a.o ->> 'online')::int,
             'offline', (b.o ->> 'offline')::int - (a.o ->> 'offline')::int,
             'orders_today', (b.o ->> 'orders_today')::int - (a.o ->> 'orders_today')::int,
             'revenue_eur', (b.o #>> '{revenue_today,EUR}')::bigint - coalesce((a.o #>> '{revenue_today,EUR}')::bigint, 0),
             'pending_orders', (b.o ->> 'pending_orders')::int - (a.o ->> 'pending_orders')::int)
             FROM ov0 a, ov1 b),
          '{"kiosks": 0, "online": 1, "offline": -1, "orders_today": 1, "revenue_eur": 270, "pending_orders": 3}'::jsonb,
          'the fleet overview moves by exactly what changed');
SELECT ok((SELECT (o ->> 'oldest_unsynced_age_seconds')::int >= 90 FROM ov1), 'the oldest backlog age covers tapco2''s 90 s');
SELECT is(pg_temp.op('SELECT api.dashboard_overview()') ->> 'as_of', (SELECT to_jsonb(now()) #>> '{}'), 'answered as of now');
SELECT throws_ok($$ SELECT pg_temp.kq('tapco1', 'SELECT api.dashboard_overview()') $$, '42501', NULL, 'kiosks do not read the dashboard');
SELECT throws_ok($$ SELECT tap.call('anon', '{}', 'SELECT api.dashboard_kiosks()') $$, '42501', NULL, 'nor does anon');

SELECT * FROM finish();
ROLLBACK;
