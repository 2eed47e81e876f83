-- cards: applying verified Stripe events. The RPC verified the signature; everything
-- else - dedupe, what to credit, refunds, disputes - is decided here, once per event id
-- and once per payment intent, whatever the delivery order.

-- Credit what Stripe charged (amount_total in the session's currency - never metadata),
-- once per payment intent. Then apply any refund or dispute that arrived earlier.
CREATE OR REPLACE FUNCTION cards.stripe_credit(session jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  pi       text := session ->> 'payment_intent';
  sid      text := session ->> 'id';
  charged  bigint := (session ->> 'amount_total')::bigint;
  ccy      text := upper(session ->> 'currency');
  intent   cards.recharge_intents;
  card     cards.cards;
  pay      cards.stripe_payments;
  posted   record;
BEGIN
  IF pi IS NULL OR sid IS NULL OR charged IS NULL OR charged <= 0 THEN
    RETURN 'ignored: session without payment_intent or amount_total';
  END IF;
  SELECT * INTO intent FROM cards.recharge_intents i
   WHERE i.intent_id::text = coalesce(session ->> 'client_reference_id', session #>> '{metadata,intent_id}')
   FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'ignored: no recharge intent for this session';
  END IF;
  IF intent.session_id IS NOT NULL AND intent.session_id <> sid THEN
    RETURN 'ignored: session does not belong to the intent';
  END IF;
  -- Lock order everywhere here: intent, then payment, then card.
  INSERT INTO cards.stripe_payments (payment_intent) VALUES (pi) ON CONFLICT DO NOTHING;
  SELECT * INTO pay FROM cards.stripe_payments p WHERE p.payment_intent = pi FOR UPDATE;
  IF pay.credited_at IS NOT NULL THEN
    RETURN 'duplicate: payment intent already credited';
  END IF;
  card := cards.lock_card(intent.card_id);
  IF ccy IS DISTINCT FROM cards.currency_of(card) THEN
    UPDATE cards.recharge_intents i SET status = 'failed', updated_at = now() WHERE i.intent_id = intent.intent_id;
    RETURN format('needs_review: charged %s %s but the card is in %s', charged, ccy, cards.currency_of(card));
  END IF;

  posted := ledger.post_transfer('stripe_recharge',
    ARRAY[ledger.house_account('stripe_clearing', 'stripe', ccy), card.account_id], ARRAY[-charged, charged],
    'stripe:' || pi, jsonb_build_object('payment_intent', pi, 'session_id', sid));
  INSERT INTO cards.recharges (card_id, method, amount, payment_intent, transfer_id)
  VALUES (card.card_id, 'stripe', charged, pi, posted.transfer_id);
  UPDATE cards.stripe_payments p
     SET session_id = sid, intent_id = intent.intent_id, card_id = card.card_id, amount_credited = charged,
         currency = ccy, credited_at = now(), updated_at = now()
   WHERE p.payment_intent = pi;
  UPDATE cards.recharge_intents i SET status = 'succeeded', session_id = sid, updated_at = now()
   WHERE i.intent_id = intent.intent_id;

  PERFORM cards.stripe_apply_refunds(pi);
  IF pay.disputed THEN
    PERFORM cards.set_status(card.card_id, 'blocked', 'stripe dispute on ' || pi);
  END IF;
  RETURN 'credited';
END $$;

-- Debit refunds Stripe reported for a credited payment (amount_refunded is cumulative
-- on the charge, so only the part not applied yet). The card pays what it has; the
-- remainder becomes card debt and the card is blocked.
CREATE OR REPLACE FUNCTION cards.stripe_apply_refunds(pi text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  pay     cards.stripe_payments;
  card    cards.cards;
  due     bigint;
  bal     bigint;
  paid    bigint;
  owed    bigint;
  posted  record;
  legs_a  bigint[];
  legs_n  bigint[];
BEGIN
  SELECT * INTO pay FROM cards.stripe_payments p WHERE p.payment_intent = pi FOR UPDATE;
  IF pay.credited_at IS NULL THEN
    RETURN 'deferred: refund kept until the payment is credited';
  END IF;
  due := least(pay.refunded_seen, pay.amount_credited) - pay.refunded_applied;
  IF due <= 0 THEN
    RETURN 'duplicate: refund already applied';
  END IF;
  card := cards.lock_card(pay.card_id);
  SELECT a.balance INTO bal FROM ledger.accounts a WHERE a.id = card.account_id;
  paid := least(bal, due);
  owed := due - paid;
  legs_a := ARRAY[ledger.house_account('stripe_clearing', 'stripe', pay.currency)];
  legs_n := ARRAY[due];
  IF paid > 0 THEN
    legs_a := legs_a || card.account_id;
    legs_n := legs_n || -paid;
  END IF;
  IF owed > 0 THEN
    legs_a := legs_a || ledger.house_account('card_debt', 'cards', pay.currency);
    legs_n := legs_n || -owed;
  END IF;
  posted := ledger.post_transfer('stripe_refund', legs_a, legs_n, 'stripe-refund:' || pi || ':' || pay.refunded_seen,
                                 jsonb_build_object('payment_intent', pi, 'refunded', due, 'debt', owed));
  UPDATE cards.stripe_payments p SET refunded_applied = p.refunded_applied + due, updated_at = now()
   WHERE p.payment_intent = pi;
  IF owed > 0 THEN
    INSERT INTO cards.card_debts (card_id, amount, reason, payment_intent, transfer_id)
    VALUES (card.card_id, owed, 'stripe refund above the card balance', pi, posted.transfer_id);
    PERFORM cards.set_status(card.card_id, 'blocked', 'debt after stripe refund on ' || pi);
  END IF;
  RETURN CASE WHEN owed > 0 THEN 'refunded with debt' ELSE 'refunded' END;
END $$;

-- Apply one verified event. The event id is stored first (UNIQUE): a redelivery is a
-- no-op. Unknown types are recorded as ignored; every outcome answers 200.
CREATE OR REPLACE FUNCTION cards.stripe_event_apply(event jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  evt_id   text := event ->> 'id';
  kind     text := event ->> 'type';
  obj      jsonb := event #> '{data,object}';
  result   text;
  pi       text;
BEGIN
  IF evt_id IS NULL OR kind IS NULL OR jsonb_typeof(obj) IS DISTINCT FROM 'object' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'event must have id, type and data.object',
                             jsonb_build_object('argument', 'event'));
  END IF;
  INSERT INTO cards.stripe_events (event_id, type, outcome, payload) VALUES (evt_id, kind, 'processing', event)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('event_id', evt_id, 'type', kind, 'outcome', 'duplicate event');
  END IF;

  CASE kind
  WHEN 'checkout.session.completed' THEN
    IF obj ->> 'payment_status' IN ('paid', 'no_payment_required') THEN
      result := cards.stripe_credit(obj);
    ELSE
      result := 'awaiting async payment';  -- async_payment_succeeded / _failed follows
    END IF;
  WHEN 'checkout.session.async_payment_succeeded' THEN
    result := cards.stripe_credit(obj);
  WHEN 'checkout.session.async_payment_failed', 'checkout.session.expired' THEN
    UPDATE cards.recharge_intents i
       SET status = CASE kind WHEN 'checkout.session.expired' THEN 'expired' ELSE 'failed' END, updated_at = now()
     WHERE i.session_id = obj ->> 'id' AND i.status IN ('pending', 'open');
    result := CASE WHEN FOUND THEN 'intent closed' ELSE 'no open intent' END;
  WHEN 'charge.refunded' THEN
    pi := obj ->> 'payment_intent';
    IF pi IS NULL OR jsonb_typeof(obj -> 'amount_refunded') IS DISTINCT FROM 'number' THEN
      result := 'ignored: charge without payment_intent or amount_refunded';
    ELSE
      INSERT INTO cards.stripe_payments AS p (payment_intent, refunded_seen)
      VALUES (pi, (obj ->> 'amount_refunded')::bigint)
      ON CONFLICT (payment_intent) DO UPDATE
         SET refunded_seen = greatest(p.refunded_seen, excluded.refunded_seen), updated_at = now();
      result := cards.stripe_apply_refunds(pi);
    END IF;
  WHEN 'charge.dispute.created' THEN
    pi := obj ->> 'payment_intent';
    IF pi IS NULL THEN
      result := 'ignored: dispute without payment_intent';
    ELSE
      INSERT INTO cards.stripe_payments AS p (payment_intent, disputed) VALUES (pi, true)
      ON CONFLICT (payment_intent) DO UPDATE SET disputed = true, updated_at = now();
      SELECT CASE WHEN p.card_id IS NULL THEN 'deferred: block when the payment is credited' ELSE 'card blocked' END
        INTO result FROM cards.stripe_payments p WHERE p.payment_intent = pi;
      PERFORM cards.set_status(p.card_id, 'blocked', 'stripe dispute on ' || pi)
         FROM cards.stripe_payments p WHERE p.payment_intent = pi AND p.card_id IS NOT NULL;
    END IF;
  ELSE
    result := 'ignored';
  END CASE;

  UPDATE cards.stripe_events e SET outcome = result WHERE e.event_id = evt_id;
  RETURN jsonb_build_object('event_id', evt_id, 'type', kind, 'outcome', result);
END $$;
