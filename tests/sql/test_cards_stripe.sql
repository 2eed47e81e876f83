-- Online recharge functions: intents, session attach, event application.
BEGIN;
SELECT plan(16);

CREATE FUNCTION pg_temp.anon(query text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('anon', '{}', query) $$;
CREATE FUNCTION pg_temp.pay(query text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('payments', '{}', query) $$;
CREATE TEMP TABLE setup AS SELECT tap.call('staff', '{"sub": "tap"}', $$ SELECT api.card_issue('STRIPE01', 'ts1') $$);

CREATE TEMP TABLE i AS SELECT pg_temp.anon($$ SELECT api.recharge_intent_create('stripe01', 1500, 'ti1') $$) AS j;
SELECT is((SELECT j ->> 'status' FROM i), 'pending', 'an intent starts pending');
SELECT throws_ok($$ SELECT pg_temp.anon($q$ SELECT api.recharge_intent_create('STRIPE01', 0, 'ti2') $q$) $$,
  'KL000', 'INVALID_REQUEST: amount must be 1..100000 minor units', 'amount bounds');
SELECT throws_ok($$ SELECT pg_temp.anon($q$ SELECT api.recharge_intent_create('NOPE0000', 10, 'ti2') $q$) $$,
  'KL000', 'CARD_NOT_FOUND: card NOPE0000 does not exist', 'unknown card');
SELECT throws_ok($$ SELECT pg_temp.anon($q$ SELECT api.recharge_intent_attach(gen_random_uuid(), 'cs_1', 'u') $q$) $$,
  '42501', NULL, 'anon cannot attach sessions');

SELECT is(pg_temp.pay(format('SELECT api.recharge_intent_attach(%L, %L, %L)', (SELECT j ->> 'intent_id' FROM i), 'cs_test_1', 'https://pay/1')) ->> 'status',
          'open', 'attaching a session opens the intent');
SELECT is(pg_temp.pay(format('SELECT api.recharge_intent_attach(%L, %L, %L)', (SELECT j ->> 'intent_id' FROM i), 'cs_test_1', 'https://pay/1')) ->> 'session_id',
          'cs_test_1', 'attaching the same session again is idempotent');
SELECT throws_like(format('SELECT pg_temp.pay(%L)', format('SELECT api.recharge_intent_attach(%L, %L, %L)', (SELECT j ->> 'intent_id' FROM i), 'cs_test_2', 'u')),
  'CONFLICT: intent % already has session cs_test_1', 'another session for the intent is a conflict');
SELECT throws_ok($$ SELECT pg_temp.pay($q$ SELECT api.recharge_intent_attach('00000000-0000-0000-0000-000000000000', 'cs_test_3', 'u') $q$) $$,
  'KL000', 'INTENT_NOT_FOUND: recharge intent 00000000-0000-0000-0000-000000000000 does not exist', 'unknown intent');
SELECT throws_ok($$ SELECT pg_temp.pay($q$ SELECT api.recharge_intent_attach(gen_random_uuid(), 'not-a-session', 'u') $q$) $$,
  'KL000', 'INVALID_REQUEST: session_id must be a Checkout Session id (cs_...)', 'session id format');

SELECT throws_ok($$ SELECT pg_temp.pay($q$ SELECT api.stripe_event_apply('{"type": "x"}') $q$) $$,
  'KL000', 'INVALID_REQUEST: event must have id, type and data.object', 'malformed event refused');
CREATE TEMP TABLE ev AS SELECT jsonb_build_object('id', 'evt_tap_1', 'type', 'checkout.session.completed', 'data',
  jsonb_build_object('object', jsonb_build_object('id', 'cs_test_1', 'client_reference_id', (SELECT j ->> 'intent_id' FROM i),
    'amount_total', 1400, 'currency', 'eur', 'payment_intent', 'pi_tap_1', 'payment_status', 'paid',
    'metadata', jsonb_build_object('amount', '999999')))) AS e;
SELECT is(pg_temp.pay(format('SELECT api.stripe_event_apply(%L)', (SELECT e FROM ev))) ->> 'outcome', 'credited', 'paid session credits');
SELECT is(tap.call('anon', '{}', $$ SELECT api.card_balance('STRIPE01') $$) ->> 'balance', '1400', 'amount_total, not metadata');
SELECT is(pg_temp.pay(format('SELECT api.stripe_event_apply(%L)', (SELECT e FROM ev))) ->> 'outcome', 'duplicate event', 'same event id: no-op');
SELECT is(pg_temp.pay(format('SELECT api.stripe_event_apply(%L)', (SELECT jsonb_set(e, '{id}', '"evt_tap_2"') FROM ev))) ->> 'outcome',
          'duplicate: payment intent already credited', 'same payment intent: no second credit');
SELECT is(pg_temp.pay($$ SELECT api.stripe_event_apply('{"id": "evt_tap_3", "type": "charge.refunded", "data": {"object": {"payment_intent": "pi_tap_9", "amount_refunded": 10}}}') $$) ->> 'outcome',
          'deferred: refund kept until the payment is credited', 'a refund for an unknown payment waits');
SELECT is_empty('SELECT * FROM ledger.balance_drift', 'balances equal postings');

SELECT * FROM finish();
ROLLBACK;
