-- cards: applying verified Stripe events. The RPC verified the signature; everything
-- else - dedupe, what to credit, refunds, disputes - is decided here, once per event id
-- and once per payment intent, whatever the delivery order.

-- Park Stripe money that may not be spent from the card: from stripe_clearing (a payment
-- that is not the intent's) or from the card it was just credited to. An open
-- held_payments row is the operator's alert; cards_ops hears of it at commit.
CREATE OR REPLACE FUNCTION cards.stripe_hold(card cards.cards, from_account bigint, amount bigint, pi text, sid text,
                                             reason text, ccy text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  posted record;
  hid    bigint;
BEGIN
  posted := ledger.post_transfer('stripe_held', ARRAY[from_account, ledger.house_account('held_payments', 'cards', ccy)],
    ARRAY[-amount, amount], 'stripe-held:' || pi,
    jsonb_build_object('payment_intent', pi, 'session_id', sid, 'card_id', card.card_id, 'reason', reason));
  INSERT INTO cards.held_payments (card_id, payment_intent, session_id, reason, amount, currency, transfer_id)
  VALUES (card.card_id, pi, sid, reason, amount, ccy, posted.transfer_id)
  RETURNING held_id INTO hid;
  PERFORM pg_notify('cards_ops', 'held_payment:' || hid);
  RETURN hid;
END $$;

-- Money just credited to a card that is not active must still reach the holder: a frozen
-- card with a refund not yet exported gets it added to that refund; a blocked card pays
-- its debt first; whatever is left is held (a card that can neither spend nor be
-- refunded again would keep it forever).
CREATE OR REPLACE FUNCTION cards.stripe_route(card_id text, amount bigint, pi text, sid text, ccy text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  card    cards.cards := cards.lock_card(card_id);
  refund  cards.refund_requests;
  debt    bigint;
  repay   bigint := 0::bigint;
  posted  record;
BEGIN
  IF card.status = 'active' OR amount <= 0 THEN
    RETURN 'credited';
  END IF;
  IF card.status = 'frozen' THEN
    SELECT * INTO refund FROM cards.refund_requests r WHERE r.card_id = card.card_id FOR UPDATE;
    IF FOUND AND refund.status = 'pending' THEN
      posted := ledger.post_transfer('card_refund_topup',
        ARRAY[card.account_id, ledger.house_account('refunds_payable', 'cards', ccy)], ARRAY[-amount, amount],
        'stripe-refund-topup:' || pi, jsonb_build_object('payment_intent', pi, 'refund_id', refund.refund_id));
      UPDATE cards.refund_requests r SET amount = r.amount + stripe_route.amount WHERE r.refund_id = refund.refund_id;
      RETURN 'credited: added to pending refund';
    END IF;
    IF refund.refund_id IS NOT NULL THEN  -- exported: that bank transfer cannot grow
      PERFORM cards.stripe_hold(card, card.account_id, amount, pi, sid, 'refund_already_exported', ccy);
      RETURN 'held: the card''s refund was already exported';
    END IF;
    PERFORM cards.stripe_hold(card, card.account_id, amount, pi, sid, 'card_frozen', ccy);
    RETURN 'held: card frozen';
  END IF;
  SELECT coalesce(sum(d.amount), 0)::bigint INTO debt FROM cards.card_debts d WHERE d.card_id = card.card_id;
  repay := least(debt, amount);
  IF repay > 0 THEN
    posted := ledger.post_transfer('card_debt_repayment',
      ARRAY[card.account_id, ledger.house_account('card_debt', 'cards', ccy)], ARRAY[-repay, repay],
      'stripe-debt:' || pi, jsonb_build_object('payment_intent', pi));
    INSERT INTO cards.card_debts (card_id, amount, reason, payment_intent, transfer_id)
    VALUES (card.card_id, -repay, 'paid from stripe payment', pi, posted.transfer_id);
  END IF;
  IF amount - repay > 0 THEN
    PERFORM cards.stripe_hold(card, card.account_id, amount - repay, pi, sid, 'card_blocked', ccy);
    RETURN 'held: card blocked' || CASE WHEN repay > 0 THEN format(' (debt of %s paid first)', repay) ELSE '' END;
  END IF;
  RETURN format('credited: paid card debt of %s', repay);
END $$;

-- Credit what Stripe charged (amount_total in the session's currency - never metadata),
-- once per payment intent. Then apply any refund or dispute that arrived earlier, and
-- route what is left if the card is no longer active. A payment that is not the intent's
-- (another session carrying its id, or the intent already paid by another payment
-- intent - the customer paid twice) is held for a refund, never dropped.
CREATE OR REPLACE FUNCTION cards.stripe_credit(session jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  pi       text := session ->> 'payment_intent';
  sid      text := session ->> 'id';
  charged  bigint;
  ccy      text := upper(session ->> 'currency');
  intent   cards.recharge_intents;
  card     cards.cards;
  pay      cards.stripe_payments;
  posted   record;
  result   text;
  hid      bigint;
BEGIN
  IF jsonb_typeof(session -> 'amount_total') = 'number' AND (session ->> 'amount_total') ~ '^[0-9]{1,18}$' THEN
    charged := (session ->> 'amount_total')::bigint;
  END IF;
  IF pi IS NULL OR sid IS NULL OR charged IS NULL OR charged <= 0 THEN
    RETURN 'ignored: session without payment_intent or amount_total';
  END IF;
  SELECT * INTO intent FROM cards.recharge_intents i
   WHERE i.intent_id::text = coalesce(session ->> 'client_reference_id', session #>> '{metadata,intent_id}')
   FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'ignored: no recharge intent for this session';
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

  IF (intent.session_id IS NOT NULL AND intent.session_id <> sid)
     OR EXISTS (SELECT 1 FROM cards.stripe_payments p
                 WHERE p.intent_id = intent.intent_id AND p.credited_at IS NOT NULL AND p.payment_intent <> pi) THEN
    hid := cards.stripe_hold(card, ledger.house_account('stripe_clearing', 'stripe', ccy), charged, pi, sid,
                             'duplicate_session', ccy);
    -- Accounted for, so a refund Stripe reports for it releases the hold (stripe_apply_refunds).
    UPDATE cards.stripe_payments p
       SET intent_id = intent.intent_id, card_id = card.card_id, amount_credited = charged, currency = ccy, credited_at = now(), updated_at = now()
     WHERE p.payment_intent = pi;
    PERFORM cards.stripe_apply_refunds(pi);
    RETURN format('duplicate_session: intent %s is already paid; %s held for a refund (held payment %s)',
                  intent.intent_id, charged, hid);
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
  SELECT * INTO pay FROM cards.stripe_payments p WHERE p.payment_intent = pi;
  result := cards.stripe_route(card.card_id, charged - pay.refunded_applied, pi, sid, ccy);
  IF pay.disputed THEN
    PERFORM cards.set_status(card.card_id, 'blocked', 'stripe dispute on ' || pi);
  END IF;
  RETURN result;
END $$;

-- Debit refunds Stripe reported for a credited payment (amount_refunded is cumulative
-- on the charge, so only the part not applied yet). What is still held of the payment
-- goes back first (that releases the hold); then the card pays what it has; the
-- remainder becomes card debt and the card is blocked.
CREATE OR REPLACE FUNCTION cards.stripe_apply_refunds(pi text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  pay     cards.stripe_payments;
  card    cards.cards;
  held    cards.held_payments;
  due     bigint;
  bal     bigint;
  unheld  bigint := 0::bigint;
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
  SELECT * INTO held FROM cards.held_payments h WHERE h.payment_intent = pi FOR UPDATE;
  IF FOUND THEN
    unheld := least(due, held.amount - held.released);
  END IF;
  SELECT a.balance INTO bal FROM ledger.accounts a WHERE a.id = card.account_id;
  paid := least(bal, due - unheld);
  owed := due - unheld - paid;
  legs_a := ARRAY[ledger.house_account('stripe_clearing', 'stripe', pay.currency)];
  legs_n := ARRAY[due];
  IF unheld > 0 THEN
    legs_a := legs_a || ledger.house_account('held_payments', 'cards', pay.currency);
    legs_n := legs_n || -unheld;
  END IF;
  IF paid > 0 THEN
    legs_a := legs_a || card.account_id;
    legs_n := legs_n || -paid;
  END IF;
  IF owed > 0 THEN
    legs_a := legs_a || ledger.house_account('card_debt', 'cards', pay.currency);
    legs_n := legs_n || -owed;
  END IF;
  posted := ledger.post_transfer('stripe_refund', legs_a, legs_n, 'stripe-refund:' || pi || ':' || pay.refunded_seen,
                                 jsonb_build_object('payment_intent', pi, 'refunded', due, 'debt', owed,
                                                    'released_from_hold', unheld));
  UPDATE cards.stripe_payments p SET refunded_applied = p.refunded_applied + due, updated_at = now()
   WHERE p.payment_intent = pi;
  IF unheld > 0 THEN
    UPDATE cards.held_payments h
       SET released = h.released + unheld,
           resolved_at = CASE WHEN h.released + unheld = h.amount THEN now() END
     WHERE h.held_id = held.held_id;
  END IF;
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

-- The webhook's entry: the signed body as text. jsonb cannot hold a \u0000 inside a
-- string (json, kept as text, can), and Stripe copies customer-typed text into events,
-- so such an escape becomes U+FFFD before the event is stored and applied - the ids and
-- amounts it is applied by are never text a customer typed. The body as received is
-- kept when it had to change, and its sha256 always, so what Stripe signed stays on record.
CREATE OR REPLACE FUNCTION cards.stripe_payload_apply(payload text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  -- A \u0000 escape not itself escaped: preceded by an even number of backslashes.
  clean   text := regexp_replace(payload, '(?<!\\)((?:\\\\)*)\\u0000', '\1\\ufffd', 'g');
  event   jsonb;
  applied jsonb;
BEGIN
  BEGIN
    event := clean::jsonb;
  EXCEPTION WHEN data_exception THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'the event is not JSON', jsonb_build_object('argument', 'payload'));
  END;
  IF jsonb_typeof(event) IS DISTINCT FROM 'object' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'the event must be a JSON object',
                             jsonb_build_object('argument', 'payload'));
  END IF;
  applied := cards.stripe_event_apply(event);
  IF applied ->> 'outcome' IS DISTINCT FROM 'duplicate event' THEN
    UPDATE cards.stripe_events e
       SET payload_sha256 = sha256(convert_to(stripe_payload_apply.payload, 'UTF8')),
           raw_payload = CASE WHEN clean <> stripe_payload_apply.payload THEN stripe_payload_apply.payload END
     WHERE e.event_id = event ->> 'id';
  END IF;
  RETURN applied;
END $$;
