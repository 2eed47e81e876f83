-- cards: recharges at checkpoints (cash / card terminal) and online through Stripe.

CREATE OR REPLACE FUNCTION cards.require_amount(amount bigint, max_setting text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE max_amount bigint := (core.setting(max_setting))::bigint;
BEGIN
  IF amount IS NULL OR amount NOT BETWEEN 1 AND max_amount THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('amount must be 1..%s minor units', max_amount),
                             jsonb_build_object('argument', 'amount', 'max', max_amount));
  END IF;
END $$;

CREATE OR REPLACE FUNCTION cards.checkpoint_recharge(card_id text, amount bigint, payment_method text,
                                                     checkpoint_id text, transfer_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  card     cards.cards;
  currency text;
  prev     bigint;
  posted   record;
  rid      bigint;
BEGIN
  PERFORM cards.require_amount(amount, 'cards.max_recharge');
  IF payment_method IS NULL OR payment_method NOT IN ('cash', 'card') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'payment_method must be cash or card',
                             jsonb_build_object('argument', 'payment_method'));
  END IF;
  checkpoint_id := core.require_ident(checkpoint_id, 'checkpoint_id');
  card := cards.lock_card(card_id);
  IF card.status <> 'active' THEN
    RETURN cards.not_active(card);
  END IF;
  SELECT a.balance, a.currency::text INTO prev, currency FROM ledger.accounts a WHERE a.id = card.account_id;
  posted := ledger.post_transfer('checkpoint_recharge',
    ARRAY[ledger.house_account(CASE payment_method WHEN 'cash' THEN 'checkpoint_cash'
                                                   ELSE 'checkpoint_card_terminal' END, checkpoint_id, currency),
          card.account_id],
    ARRAY[-amount, amount], transfer_key,
    jsonb_build_object('checkpoint_id', checkpoint_id, 'payment_method', payment_method));
  INSERT INTO cards.recharges (card_id, method, amount, checkpoint_id, staff_id, transfer_id)
  VALUES (card.card_id, payment_method, amount, checkpoint_id, core.actor(), posted.transfer_id)
  RETURNING id INTO rid;
  RETURN jsonb_build_object('recharge_id', rid, 'card_id', card.card_id, 'amount', amount, 'currency', currency,
                            'payment_method', payment_method, 'previous_balance', prev, 'new_balance', prev + amount);
END $$;

CREATE OR REPLACE FUNCTION cards.intent_json(i cards.recharge_intents) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('intent_id', i.intent_id, 'card_id', i.card_id, 'amount', i.amount,
                            'currency', i.currency, 'status', i.status, 'session_id', i.session_id,
                            'checkout_url', i.checkout_url)
$$;

-- Step 1 of an online recharge: the intent exists before Stripe hears of it.
CREATE OR REPLACE FUNCTION cards.recharge_intent_create(card_id text, amount bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  card   cards.cards;
  intent cards.recharge_intents;
BEGIN
  PERFORM cards.require_amount(amount, 'cards.max_online_recharge');
  card := cards.lock_card(card_id);
  IF card.status <> 'active' THEN
    RETURN cards.not_active(card);
  END IF;
  INSERT INTO cards.recharge_intents (card_id, amount, currency)
  VALUES (card.card_id, amount, cards.currency_of(card))
  RETURNING * INTO intent;
  RETURN cards.intent_json(intent);
END $$;

-- Step 2: remember the Checkout Session created for the intent. Idempotent for the same
-- session; a different session for the same intent is a conflict.
CREATE OR REPLACE FUNCTION cards.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE intent cards.recharge_intents;
BEGIN
  IF session_id IS NULL OR session_id !~ '^cs_[A-Za-z0-9_]{1,250}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'session_id must be a Checkout Session id (cs_...)',
                             jsonb_build_object('argument', 'session_id'));
  END IF;
  SELECT * INTO intent FROM cards.recharge_intents i WHERE i.intent_id = recharge_intent_attach.intent_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('INTENT_NOT_FOUND', format('recharge intent %s does not exist', intent_id));
  ELSIF intent.session_id IS NOT NULL AND intent.session_id <> session_id THEN
    PERFORM core.raise_error('CONFLICT', format('intent %s already has session %s', intent_id, intent.session_id));
  END IF;
  UPDATE cards.recharge_intents i
     SET session_id = recharge_intent_attach.session_id, checkout_url = recharge_intent_attach.checkout_url,
         status = CASE WHEN i.status = 'pending' THEN 'open' ELSE i.status END, updated_at = now()
   WHERE i.intent_id = recharge_intent_attach.intent_id
  RETURNING * INTO intent;
  RETURN cards.intent_json(intent);
END $$;
