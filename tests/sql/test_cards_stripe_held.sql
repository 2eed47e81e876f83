-- Stripe events that used to be stranded or never applied: a \u0000 in a text field, a
-- second session for a paid intent, a payment landing on a frozen card.
BEGIN;
SELECT plan(10);

CREATE FUNCTION pg_temp.pay(query text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('payments', '{}', query) $$;
CREATE FUNCTION pg_temp.session_event(evt text, intent text, sid text, pi text, amount int, extra text DEFAULT '') RETURNS text
LANGUAGE sql AS $$
  SELECT format('{"id": "%s", "type": "checkout.session.completed", "data": {"object": {"id": "%s", '
                '"client_reference_id": "%s", "amount_total": %s, "currency": "eur", "payment_intent": "%s", '
                '"payment_status": "paid"%s}}}', evt, sid, intent, amount, pi, extra)
$$;
CREATE TEMP TABLE setup AS SELECT tap.call('staff', '{"sub": "tap"}', $$ SELECT api.card_issue('HELD0001', 'th1') $$) AS a,
                                  tap.call('staff', '{"sub": "tap"}', $$ SELECT api.card_issue('HELD0002', 'th2') $$) AS b;
CREATE TEMP TABLE i AS SELECT tap.call('anon', '{}', $$ SELECT api.recharge_intent_create('HELD0001', 1500, 'thi1') $$) AS j;

-- The body as sent: "Eve\u0000" is JSON jsonb cannot hold; "\\u0000" (an escaped backslash) is not a NUL.
CREATE TEMP TABLE raw AS SELECT pg_temp.session_event('evt_held_1', (SELECT j ->> 'intent_id' FROM i), 'cs_held_1', 'pi_held_1', 1500,
  ', "customer_details": {"name": "Eve\u0000\u0000", "note": "C:\\u0000"}') AS body;
SELECT is(pg_temp.pay(format('SELECT api.stripe_payload_apply(%L)', (SELECT body FROM raw))) ->> 'outcome', 'credited',
          'a \u0000 in a text field does not stop the credit');
SELECT is((SELECT payload #>> '{data,object,customer_details,name}' FROM cards.stripe_events WHERE event_id = 'evt_held_1'),
          E'Eve\uFFFD\uFFFD', 'each NUL escape is stored as U+FFFD');
SELECT is((SELECT payload #>> '{data,object,customer_details,note}' FROM cards.stripe_events WHERE event_id = 'evt_held_1'),
          'C:\u0000', 'an escaped backslash before u0000 is left alone');
SELECT is((SELECT (raw_payload = (SELECT body FROM raw) AND payload_sha256 = sha256(convert_to((SELECT body FROM raw), 'UTF8')))
             FROM cards.stripe_events WHERE event_id = 'evt_held_1'), true, 'the body as received and its sha256 are kept');
SELECT is(pg_temp.pay(format('SELECT api.stripe_payload_apply(%L)', (SELECT body FROM raw))) ->> 'outcome', 'duplicate event',
          'its redelivery is a no-op');
SELECT throws_ok($$ SELECT pg_temp.pay($q$ SELECT api.stripe_payload_apply('{"id": ') $q$) $$,
  'KL000', 'INVALID_REQUEST: the event is not JSON', 'a body that is not JSON is a 400');

SELECT alike(pg_temp.pay(format('SELECT api.stripe_payload_apply(%L)',
              pg_temp.session_event('evt_held_2', (SELECT j ->> 'intent_id' FROM i), 'cs_held_1', 'pi_held_2', 1500))) ->> 'outcome',
            'duplicate_session:%', 'a second payment for the paid intent is recorded, not a unique violation');
SELECT is((SELECT (reason, amount, remaining) FROM cards.open_held_payments WHERE payment_intent = 'pi_held_2'),
          ('duplicate_session'::text, 1500::bigint, 1500::bigint), 'and its money is held for a refund');

-- A payment landing after the holder asked for a refund grows that refund.
CREATE TEMP TABLE i2 AS SELECT tap.call('anon', '{}', $$ SELECT api.recharge_intent_create('HELD0002', 900, 'thi2') $$) AS j;
CREATE TEMP TABLE pre AS SELECT tap.call('staff', '{"sub": "tap"}', $$ SELECT api.checkpoint_recharge('HELD0002', 1000, 'cash', 'cp', 'thr') $$) AS a,
                                tap.call('staff', '{"sub": "desk"}', $$ SELECT api.refund_request('HELD0002', 'A B', 'a@b.cd', 'FR1420041010050500013M02606', 'thf') $$) AS b;
SELECT is(pg_temp.pay(format('SELECT api.stripe_payload_apply(%L)',
            pg_temp.session_event('evt_held_3', (SELECT j ->> 'intent_id' FROM i2), 'cs_held_3', 'pi_held_3', 900))) ->> 'outcome',
          'credited: added to pending refund', 'a payment on a card frozen for a pending refund');
SELECT is((SELECT amount FROM cards.refund_requests WHERE card_id = 'HELD0002'), 800::bigint + 900, 'the refund grew by it');

SELECT * FROM finish();
ROLLBACK;
