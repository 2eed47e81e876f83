-- Idempotency core and the admin ledger API that uses it.
BEGIN;
SELECT plan(26);

-- Every api call runs as admin through tap.call (tests/sql/helpers.sql).
CREATE FUNCTION pg_temp.adm(query text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('admin', '{"sub": "tap-admin", "role": "admin"}', query) $$;
CREATE FUNCTION pg_temp.move(from_id bigint, to_id bigint, amount bigint, kind text, request_id text) RETURNS jsonb
LANGUAGE sql AS $$
  SELECT pg_temp.adm(format('SELECT api.ledger_transfer(%L, %L, %L)',
    jsonb_build_array(jsonb_build_object('account_id', from_id, 'amount', -amount),
                      jsonb_build_object('account_id', to_id, 'amount', amount)), kind, request_id)) $$;

CREATE TEMP TABLE ids AS
SELECT (pg_temp.adm($$ SELECT api.ledger_account_open('card', 'tap-a', 'EUR', 0, 'open-a') $$) ->> 'id')::bigint AS a,
       (pg_temp.adm($$ SELECT api.ledger_account_open('card', 'tap-b', 'EUR', 0, 'open-b') $$) ->> 'id')::bigint AS b,
       (pg_temp.adm($$ SELECT api.ledger_account_open('house', 'tap-h', 'EUR', NULL, 'open-h') $$) ->> 'id')::bigint AS h;

SELECT is(pg_temp.adm($$ SELECT api.ledger_account_open('card', 'tap-a', 'EUR', 0, 'open-a') $$) ->> 'id', a::text,
          'opening with the same request_id replays the same account') FROM ids;
SELECT is(current_setting('response.replayed', true), 'true', 'a replay is flagged for the Idempotent-Replayed header');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.ledger_account_open('card', 'tap-other', 'EUR', 0, 'open-a') $q$) $$,
  'KL000', 'IDEMPOTENCY_MISMATCH: request_id ''open-a'' was already used for ledger_account_open with a different payload',
  'same key, different payload: IDEMPOTENCY_MISMATCH');
SELECT is((SELECT principal FROM core.idempotency_keys WHERE key = 'open-a'), 'admin:tap-admin',
          'keys are scoped to the caller (role and token subject)');

SELECT is((pg_temp.move(h, a, 500, 'topup', 'fund-a') -> 'postings' -> 1 ->> 'balance')::bigint, 500::bigint,
          'transfer returns the new balance per leg') FROM ids;
SELECT is(current_setting('response.replayed', true), '', 'a first execution is not flagged as replay');

-- A decline is committed under its key and replayed, even after the balance changed.
SELECT is(pg_temp.move(a, b, 800, 'move', 'move-800') ->> 'code', 'INSUFFICIENT_FUNDS', 'overdraft declines') FROM ids;
SELECT is(current_setting('response.decline', true), 'INSUFFICIENT_FUNDS', 'the decline is flagged for the HTTP status');
SELECT is((SELECT decline_code FROM core.idempotency_responses WHERE key = 'move-800'), 'INSUFFICIENT_FUNDS',
          'the decline is stored with its key');
SELECT is((pg_temp.move(h, a, 1000, 'topup', 'fund-a-more') -> 'postings' -> 1 ->> 'balance')::bigint, 1500::bigint,
          'card funded enough afterwards') FROM ids;
SELECT is(pg_temp.move(a, b, 800, 'move', 'move-800') ->> 'code', 'INSUFFICIENT_FUNDS',
          'a retry of the declined request replays the decline, it does not re-run') FROM ids;
SELECT is(current_setting('response.decline', true), 'INSUFFICIENT_FUNDS', 'the replayed decline is flagged again');
SELECT is(ledger.balance_of(b), 0::bigint, 'nothing moved for the declined key') FROM ids;

-- Invalid requests raise and leave no key behind, so a corrected request may reuse it.
SELECT throws_ok(format('SELECT pg_temp.move(%s, 424242424, 5, %L, %L)', a, 'move', 'fix-me'),
  'KL000', 'ACCOUNT_NOT_FOUND: unknown account ids {424242424}', 'unknown account raises') FROM ids;
SELECT is((SELECT count(*) FROM core.idempotency_keys WHERE key = 'fix-me'), 0::bigint, 'no key kept for an invalid request');
SELECT is(pg_temp.move(a, b, 5, 'move', 'fix-me') -> 'postings' -> 1 ->> 'balance', '5',
          'the corrected request may reuse the key') FROM ids;

-- Argument checks name the field.
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.ledger_transfer('[{"account_id": 1, "amount": 1.5}, {"account_id": 2, "amount": -1.5}]', 'move', 'frac') $q$) $$,
  'KL000', 'INVALID_REQUEST: postings[0].amount must be an integer within ±(2^53-1)', 'fractional amount refused');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.ledger_transfer('[{"account_id": 1, "amount": "5"}, {"account_id": 2, "amount": -5}]', 'move', 'str') $q$) $$,
  'KL000', 'INVALID_REQUEST: postings[0].amount must be an integer', 'string amount refused');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.ledger_transfer('[{"account_id": 1, "amount": 99999999999999999999}, {"account_id": 2, "amount": -99999999999999999999}]', 'move', 'huge') $q$) $$,
  'KL000', 'INVALID_REQUEST: postings[0].amount must be an integer within ±(2^53-1)', 'huge amount refused');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.ledger_transfer('{"account_id": 1}', 'move', 'obj') $q$) $$,
  'KL000', 'INVALID_REQUEST: postings must be an array of at least two {account_id, amount}', 'non-array refused');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.ledger_transfer('[{"account_id": 1, "amount": 5, "x": 1}, {"account_id": 2, "amount": -5}]', 'move', 'extra') $q$) $$,
  'KL000', 'INVALID_REQUEST: postings[0] must be {account_id, amount}', 'unknown posting field refused');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.ledger_transfer('[{"account_id": 1, "amount": 5}, {"account_id": 2, "amount": -5}]', 'move', NULL) $q$) $$,
  'KL000', 'INVALID_REQUEST: request_id must be a string of 1 to 255 characters', 'missing request_id refused');

SELECT is(pg_temp.adm(format('SELECT api.ledger_account(%s)', a)) ->> 'balance', '1495', 'ledger_account shows the balance') FROM ids;
SELECT throws_ok($$ SELECT pg_temp.adm('SELECT api.ledger_account(-1)') $$, 'KL000',
                 'ACCOUNT_NOT_FOUND: account -1 does not exist', 'unknown account id');

SELECT is((pg_temp.move(h, b, 7, 'topup', 'fund-b') -> 'postings' -> 0 ->> 'balance')::bigint, -1507::bigint,
          'a house leg answers its balance with the pending deltas (500 + 1000 + 7 paid out)') FROM ids;

UPDATE core.idempotency_keys SET created_at = now() - interval '8 days' WHERE key = 'fund-a';
SELECT is(core.idempotency_cleanup(), 1::bigint, 'cleanup drops keys past the 7-day retention');

SELECT * FROM finish();
ROLLBACK;
