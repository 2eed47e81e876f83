-- Festival cards: every api function, each decline and each refusal.
BEGIN;
SELECT plan(83);

CREATE FUNCTION pg_temp.staff(query text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('staff', '{"sub": "tap-staff", "role": "staff"}', query) $$;
CREATE FUNCTION pg_temp.adm(query text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('admin', '{"sub": "tap-admin", "role": "admin"}', query) $$;
CREATE FUNCTION pg_temp.anon(query text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('anon', '{}', query) $$;

-- Menu and cards.
SELECT is(pg_temp.adm($$ SELECT api.product_upsert('t-beer', 'Beer', 'drinks', 450, false, 'tp1') $$) ->> 'price', '450',
          'admin creates a product');
SELECT is(pg_temp.adm($$ SELECT api.product_upsert('t-cup', 'Cup', 'deposit', 200, true, 'tp2') $$) ->> 'is_deposit', 'true',
          'a deposit product');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.product_upsert('t-x', 'X', 'drinks', 0, false, 'tp3') $q$) $$,
  'KL000', 'INVALID_REQUEST: price must be 1..1000000 minor units', 'zero price refused');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.product_upsert('t-x', 'X', 'drinks', -5, false, 'tp3') $q$) $$,
  'KL000', 'INVALID_REQUEST: price must be 1..1000000 minor units', 'negative price refused');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.product_upsert('t-x', 'X', 'drinks', 5, false, 'tp3') $q$) $$,
  '42501', NULL, 'staff may not change prices');
SELECT ok(pg_temp.anon('SELECT api.products()') @> '[{"product_id": "t-beer", "price": 450}]', 'anon reads the menu');

CREATE TEMP TABLE issued AS SELECT pg_temp.staff($$ SELECT api.card_issue('tapcard1', 'ti1') $$) AS answer;
SELECT is((SELECT answer ->> 'card_id' FROM issued), 'TAPCARD1', 'staff issues a card, id upper-cased');
SELECT matches((SELECT answer ->> 'refund_code' FROM issued), '^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$',
               'the answer carries the card''s refund code');
SELECT is(pg_temp.staff($$ SELECT api.card_issue('tapcard1', 'ti1') $$), (SELECT answer - 'refund_code' FROM issued),
          'issue replays, without the refund code');
SELECT is_empty(format('SELECT 1 FROM core.idempotency_responses WHERE response::text LIKE %L',
                       '%' || (SELECT replace(answer ->> 'refund_code', '-', '') FROM issued) || '%'),
                'the stored response does not hold the code');
SELECT ok((SELECT code_hash LIKE '$2a$08$%' FROM cards.refund_codes WHERE card_id = 'TAPCARD1'), 'the code is kept as a bcrypt hash');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.card_issue('TAPCARD1', 'ti2') $q$) $$,
  'KL000', 'CONFLICT: card TAPCARD1 was already issued', 'issuing twice is a conflict');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.card_issue('short', 'ti3') $q$) $$,
  'KL000', 'INVALID_REQUEST: card_id must be 8 letters or digits', 'bad card id refused');
SELECT throws_ok($$ SELECT pg_temp.anon($q$ SELECT api.card_issue('TAPCARD9', 'ti4') $q$) $$,
  '42501', NULL, 'anon may not issue cards');
SELECT is((SELECT lower_bound FROM ledger.accounts a JOIN cards.cards c ON c.account_id = a.id WHERE c.card_id = 'TAPCARD1'),
          0::bigint, 'a card account may never go below 0 (CHECK via lower_bound)');

SELECT is(pg_temp.anon($$ SELECT api.card_balance('tapcard1') $$) ->> 'balance', '0', 'anon checks a balance');
SELECT throws_ok($$ SELECT pg_temp.anon($q$ SELECT api.card_balance('NOPE0000') $q$) $$,
  'KL000', 'CARD_NOT_FOUND: card NOPE0000 does not exist', 'unknown card');

-- Checkpoint recharge.
SELECT is(pg_temp.staff($$ SELECT api.checkpoint_recharge('TAPCARD1', 2000, 'cash', 'cp-tap', 'tr1') $$) ->> 'new_balance', '2000',
          'cash recharge credits the card');
SELECT is((SELECT staff_id FROM cards.recharges r WHERE r.card_id = 'TAPCARD1'), 'tap-staff', 'staff id taken from the token');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.checkpoint_recharge('TAPCARD1', 0, 'cash', 'cp-tap', 'tr2') $q$) $$,
  'KL000', 'INVALID_REQUEST: amount must be 1..100000 minor units', 'zero recharge refused');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.checkpoint_recharge('TAPCARD1', 100001, 'cash', 'cp-tap', 'tr2') $q$) $$,
  'KL000', 'INVALID_REQUEST: amount must be 1..100000 minor units', 'recharge above the maximum refused');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.checkpoint_recharge('TAPCARD1', 500, 'bitcoin', 'cp-tap', 'tr2') $q$) $$,
  'KL000', 'INVALID_REQUEST: payment_method must be cash or card', 'unknown payment method refused');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.checkpoint_recharge('TAPCARD1', 500, 'card', NULL, 'tr2') $q$) $$,
  'KL000', 'INVALID_REQUEST: checkpoint_id must be 1-64 letters, digits or _.:-', 'checkpoint required');
UPDATE core.settings SET value = '300' WHERE key = 'cards.max_recharge';
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.checkpoint_recharge('TAPCARD1', 301, 'card', 'cp-tap', 'tr2') $q$) $$,
  'KL000', 'INVALID_REQUEST: amount must be 1..300 minor units', 'the maximum is a setting');
UPDATE core.settings SET value = '100000' WHERE key = 'cards.max_recharge';

-- Bar orders.
SELECT is(pg_temp.staff($$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-beer", "quantity": 2}, {"product_id": "t-cup", "quantity": 2}]', 'to1', 'bar-1') $$)
          - 'order_id', '{"card_id": "TAPCARD1", "total": 1300, "deposit_total": 400, "currency": "EUR", "previous_balance": 2000, "new_balance": 700}'::jsonb,
          'order total from catalogue prices, deposits included');
SELECT is((SELECT sum(amount) FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
            WHERE a.kind = 'bar_revenue' AND a.owner_ref = 'bar-1'), 900::numeric, 'sales credited to the bar''s revenue account');
SELECT is((SELECT sum(amount) FROM ledger.postings p JOIN ledger.accounts a ON a.id = p.account_id
            WHERE a.kind = 'deposits_held'), 400::numeric, 'deposits held apart from revenue');
SELECT is((SELECT staff_id FROM cards.bar_orders WHERE card_id = 'TAPCARD1'), 'tap-staff', 'the order records the staff member');
SELECT is(pg_temp.staff($$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-beer", "quantity": 2}]', 'to2', 'bar-1') $$) ->> 'code',
          'INSUFFICIENT_FUNDS', 'order above the balance declines');
SELECT is(pg_temp.staff($$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-beer", "quantity": 2}]', 'to2', 'bar-1') $$) -> 'details',
          '{"card_id": "TAPCARD1", "balance": 700, "total": 900}'::jsonb, 'the decline carries the balance');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-beer", "quantity": -1}]', 'to3', 'bar-1') $q$) $$,
  'KL000', 'INVALID_REQUEST: items[0] must be {product_id: string, quantity: integer 1..100}', 'negative quantity refused');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-beer", "quantity": 101}]', 'to3', 'bar-1') $q$) $$,
  'KL000', 'INVALID_REQUEST: items[0] must be {product_id: string, quantity: integer 1..100}', 'quantity above 100 refused');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-beer", "quantity": 1, "price": 1}]', 'to3', 'bar-1') $q$) $$,
  'KL000', 'INVALID_REQUEST: items[0] must be {product_id: string, quantity: integer 1..100}', 'a client price is refused');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.bar_order('TAPCARD1', '[]', 'to3', 'bar-1') $q$) $$,
  'KL000', 'INVALID_REQUEST: items must be an array of 1 to 50 {product_id, quantity}', 'empty order refused');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-wine", "quantity": 1}]', 'to3', 'bar-1') $q$) $$,
  'KL000', 'PRODUCT_NOT_FOUND: items[0]: unknown product t-wine', 'unknown product refused');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.bar_order('NOPE0000', '[{"product_id": "t-beer", "quantity": 1}]', 'to3', 'bar-1') $q$) $$,
  'KL000', 'CARD_NOT_FOUND: card NOPE0000 does not exist', 'unknown card: 404');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-beer", "quantity": 1}]', 'to3', '') $q$) $$,
  'KL000', 'INVALID_REQUEST: point_of_sale must be 1-64 letters, digits or _.:-', 'point of sale required');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-beer", "quantity": 1}]', 'to3', 'bar-1') $q$) $$,
  '42501', NULL, 'bar orders are staff-only');

-- Deposit returns.
SELECT is(pg_temp.staff($$ SELECT api.deposit_return('TAPCARD1', 1, 'td1', 'bar-1') $$) ->> 'new_balance', '900',
          'returning a cup credits its price');
SELECT is(pg_temp.staff($$ SELECT api.deposit_return('TAPCARD1', 2, 'td2', 'bar-1') $$) ->> 'code', 'DEPOSIT_NOT_OUTSTANDING',
          'never more deposits back than paid and not yet returned');
SELECT is(pg_temp.staff($$ SELECT api.deposit_return('TAPCARD1', 1, 'td3', 'bar-1') $$) ->> 'new_balance', '1100',
          'the second cup comes back');
SELECT is(pg_temp.staff($$ SELECT api.deposit_return('TAPCARD1', 1, 'td4', 'bar-1') $$) ->> 'code', 'DEPOSIT_NOT_OUTSTANDING',
          'no third cup');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.deposit_return('TAPCARD1', 0, 'td5', 'bar-1') $q$) $$,
  'KL000', 'INVALID_REQUEST: quantity must be 1..100', 'zero deposits refused');

-- DBA views, against the numbers above.
SELECT is((SELECT row(orders, sales, deposits_taken)::text FROM cards.sales_per_pos_day WHERE point_of_sale = 'bar-1'),
          row(1::bigint, 900::numeric, 400::numeric)::text, 'sales per point of sale and day');
SELECT is((SELECT row(units, revenue)::text FROM cards.top_products WHERE product_id = 't-beer'),
          row(2::bigint, 900::numeric)::text, 'top products count units and revenue, deposits apart');
SELECT is((SELECT row(recharges, amount)::text FROM cards.recharges_per_checkpoint WHERE checkpoint_id = 'cp-tap' AND method = 'cash'),
          row(1::bigint, 2000::numeric)::text, 'recharges per checkpoint and method');

-- History from the ledger.
SELECT is(jsonb_array_length(pg_temp.staff($$ SELECT api.card_history('TAPCARD1') $$)), 4, 'four movements');
SELECT is((pg_temp.staff($$ SELECT api.card_history('TAPCARD1', 1) $$) -> 0) - 'transfer_id' - 'created_at' - 'details',
          '{"kind": "deposit_return", "amount": 200, "previous_balance": 900, "new_balance": 1100}'::jsonb,
          'newest first, with previous and new balance');
SELECT is(pg_temp.staff($$ SELECT api.card_history('TAPCARD1', 10) $$) -> 3 ->> 'previous_balance', '0', 'oldest starts at 0');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.card_history('TAPCARD1', 0) $q$) $$,
  'KL000', 'INVALID_REQUEST: limit must be 1..500', 'limit bounds');
SELECT throws_ok($$ SELECT pg_temp.anon($q$ SELECT api.card_history('TAPCARD1') $q$) $$, '42501', NULL, 'anon cannot read history');

-- NFC log.
SELECT is(pg_temp.staff($$ SELECT api.nfc_scan('TAPCARD1', 'reader-1', 'gate A', 'ok') $$) ->> 'duplicate', 'false', 'first scan');
SELECT is(pg_temp.staff($$ SELECT api.nfc_scan('TAPCARD1', 'reader-1', 'gate A', 'ok') $$) ->> 'duplicate', 'true',
          'identical scan within 2 s is a duplicate');
SELECT is(pg_temp.staff($$ SELECT api.nfc_scan('TAPCARD1', 'reader-2', 'gate A', 'ok') $$) ->> 'duplicate', 'false',
          'another device is not a duplicate');
UPDATE cards.nfc_scans SET created_at = created_at - interval '3 seconds' WHERE device_id = 'reader-1';
SELECT is(pg_temp.staff($$ SELECT api.nfc_scan('TAPCARD1', 'reader-1', 'gate A', 'ok') $$) ->> 'duplicate', 'false',
          'after 2 s it is a new scan');
SELECT throws_ok($$ SELECT pg_temp.staff($q$ SELECT api.nfc_scan('TAPCARD1', 'reader-1', 'gate A', 'OK!') $q$) $$,
  'KL000', 'INVALID_REQUEST: status must be 1-32 lower-case letters or _ (e.g. ok, read_error)', 'bad status');

-- Refunds: freeze, fee, one per card, SEPA export.
CREATE FUNCTION pg_temp.refund_by_holder(code text, request_id text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT pg_temp.anon(format($q$ SELECT api.refund_request('TAPCARD1', 'Jane Doe', 'jane@example.com',
                                'de89 3704 0044 0532 0130 00', %L, refund_code => %L) $q$, request_id, code)) $$;
SELECT throws_ok($$ SELECT pg_temp.anon($q$ SELECT api.refund_request('TAPCARD1', 'Jane Doe', 'jane@example.com', 'DE89370400440532013000', 'tf0') $q$) $$,
  'KL000', 'INVALID_REQUEST: refund_code is required: the code given with the card (without it, a refund desk can file the refund)',
  'the card id alone does not refund');
SELECT throws_ok($$ SELECT pg_temp.refund_by_holder('abc', 'tf0') $$,
  'KL000', 'INVALID_REQUEST: refund_code must be 8-64 letters or digits (spaces and dashes ignored)', 'a malformed code is refused');
SELECT throws_ok($$ SELECT pg_temp.anon(format($q$ SELECT api.refund_request('TAPCARD1', 'Jane Doe', 'jane@example.com', 'DE89370400440532013001', 'tf0', %L) $q$,
                                               (SELECT answer ->> 'refund_code' FROM issued))) $$,
  'KL000', 'INVALID_REQUEST: iban is not a valid IBAN (format or checksum)', 'IBAN checksum verified');
SELECT throws_ok($$ SELECT pg_temp.anon(format($q$ SELECT api.refund_request('TAPCARD1', 'Jane Doe', 'not-an-email', 'DE89370400440532013000', 'tf0', %L) $q$,
                                               (SELECT answer ->> 'refund_code' FROM issued))) $$,
  'KL000', 'INVALID_REQUEST: email is not a valid address', 'email checked');
SELECT is(pg_temp.refund_by_holder('AAAA-BBBB-CCCC', 'tf0a') - 'details', '{"code": "REFUND_CODE_INVALID", "message": "wrong refund code for card TAPCARD1", "hint": null}'::jsonb,
          'a wrong code declines');
SELECT is((SELECT failed_attempts FROM cards.refund_codes WHERE card_id = 'TAPCARD1'), 1, 'and is counted');
SELECT is((SELECT status FROM cards.cards WHERE card_id = 'TAPCARD1'), 'active', 'a wrong code freezes nothing');
SELECT is(pg_temp.refund_by_holder(lower((SELECT answer ->> 'refund_code' FROM issued)), 'tf1')
          - 'refund_id', '{"card_id": "TAPCARD1", "amount": 900, "fee": 200, "currency": "EUR", "status": "pending", "card_status": "frozen"}'::jsonb,
          'with its code, refund books balance minus fee and freezes the card');
SELECT is((SELECT row(proof, filed_by_role) FROM cards.refund_requests WHERE card_id = 'TAPCARD1'), row('refund_code'::text, 'anon'::text),
          'the refund records how it was authorised');
SELECT is((SELECT failed_attempts FROM cards.refund_codes WHERE card_id = 'TAPCARD1'), 0, 'the right code resets the count');
SELECT is(pg_temp.anon($$ SELECT api.card_balance('TAPCARD1') $$) ->> 'balance', '0', 'the card is emptied');
SELECT is(pg_temp.staff($$ SELECT api.bar_order('TAPCARD1', '[{"product_id": "t-beer", "quantity": 1}]', 'to9', 'bar-1') $$) ->> 'code',
          'CARD_NOT_ACTIVE', 'a frozen card cannot spend');
SELECT is(pg_temp.staff($$ SELECT api.checkpoint_recharge('TAPCARD1', 500, 'cash', 'cp-tap', 'tr9') $$) ->> 'code',
          'CARD_NOT_ACTIVE', 'a frozen card cannot be recharged');
SELECT is(pg_temp.staff($$ SELECT api.refund_request('TAPCARD1', 'Jane Doe', 'jane@example.com', 'DE89370400440532013000', 'tf2') $$) ->> 'code',
          'REFUND_ALREADY_REQUESTED', 'one refund per card');
SELECT is(pg_temp.staff($$ SELECT api.card_issue('TAPCARD2', 'ti5') $$) ->> 'balance', '0', 'a second card');
SELECT is(pg_temp.staff($$ SELECT api.refund_request('TAPCARD2', 'Jo', 'jo@example.com', 'DE89370400440532013000', 'tf3') $$) ->> 'code',
          'NOTHING_TO_REFUND', 'nothing to refund when balance <= fee (a desk files without the code)');
SELECT is((SELECT status FROM cards.cards WHERE card_id = 'TAPCARD2'), 'active', 'a declined refund does not freeze');
SELECT is((SELECT array_agg(new_status ORDER BY id) FROM cards.card_events WHERE card_id = 'TAPCARD1'),
          ARRAY['active', 'frozen'], 'status changes are audited');

SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.refund_export('te0') $q$) $$,
  'KL000', 'INVALID_REQUEST: the refund debtor account is not configured', 'export needs the debtor account');
UPDATE core.settings SET value = '"Festival <GmbH> & Co"' WHERE key = 'cards.refund_debtor_name';
UPDATE core.settings SET value = '"DE02120300000000202051"' WHERE key = 'cards.refund_debtor_iban';
SELECT is((pg_temp.adm($$ SELECT api.refund_export('te1') $$) - 'xml' - 'export_id'), '{"count": 1, "total": 900, "currency": "EUR"}'::jsonb,
          'export counts the pending refunds');
SELECT is(pg_temp.adm($$ SELECT api.refund_export('te1') $$) ->> 'xml', (SELECT xml FROM cards.refund_exports ORDER BY export_id DESC LIMIT 1),
          'the same request_id returns the same file');
SELECT is(pg_temp.adm($$ SELECT api.refund_export('te2') $$) ->> 'count', '0', 'nothing left to export');

SELECT is_empty('SELECT * FROM ledger.imbalances', 'every transfer sums to zero');
SELECT is_empty('SELECT * FROM ledger.balance_drift', 'every balance equals its postings');
SELECT is_empty('SELECT * FROM ledger.dangling_postings', 'every posting has its transfer and account');
SELECT throws_ok($$ UPDATE cards.bar_orders SET total = total WHERE false $$, 'KL000', NULL, 'orders are history');
SELECT throws_ok($$ DELETE FROM cards.cards WHERE false $$, 'KL000', NULL, 'cards are never removed');

SELECT * FROM finish();
ROLLBACK;
