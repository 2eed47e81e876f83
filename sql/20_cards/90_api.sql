-- api: festival cashless cards. Thin wrappers: argument checks, the idempotency key,
-- then one cards.* function. Grants say who may call each.

CREATE OR REPLACE FUNCTION api.card_issue(card_id text, request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id); issued jsonb;
BEGIN
  replay := core.idem_begin('card_issue', request_id, jsonb_build_object('card_id', id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  issued := cards.issue(id);
  -- The refund code goes to this answer only: the stored response (replayed for the same
  -- request_id, readable by any DBA) never holds it.
  PERFORM core.idem_finish('card_issue', request_id, issued - 'refund_code');
  RETURN issued;
END $$;
COMMENT ON FUNCTION api.card_issue(text, text) IS
  'Staff/admin: issue a card (8 letters/digits, stored upper-case) with an empty balance in the event currency. CONFLICT if it exists. The answer carries the card''s refund_code (XXXX-XXXX-XXXX, to hand to the holder: it proves possession for refund_request) once: a replay of the same request_id answers without it, and only its hash is kept. A card whose code was imported (card_refund_codes_import) keeps it: refund_code_source imported, no refund_code.';
GRANT EXECUTE ON FUNCTION api.card_issue(text, text) TO staff, admin;

CREATE OR REPLACE FUNCTION api.card_balance(card_id text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT cards.balance(cards.normalize_id(card_id))
$$;
COMMENT ON FUNCTION api.card_balance(text) IS
  'Anyone holding the card id: its balance, currency, status and any debt. CARD_NOT_FOUND (404) for an unknown card.';
GRANT EXECUTE ON FUNCTION api.card_balance(text) TO anon, staff, admin;

CREATE OR REPLACE FUNCTION api.card_history(card_id text, "limit" int DEFAULT 50) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 500 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..500', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN cards.history(cards.normalize_id(card_id), "limit");
END $$;
COMMENT ON FUNCTION api.card_history(text, int) IS
  'Staff/admin: the card''s movements from the ledger, newest first, each with previous_balance and new_balance.';
GRANT EXECUTE ON FUNCTION api.card_history(text, int) TO staff, admin;

CREATE OR REPLACE FUNCTION api.product_upsert(product_id text, name text, category text, price bigint,
                                              is_deposit boolean, request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('product_upsert', request_id, jsonb_build_object(
    'product_id', product_id, 'name', name, 'category', category, 'price', price, 'is_deposit', is_deposit));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('product_upsert', request_id,
                          cards.product_upsert(product_id, name, category, price, is_deposit));
END $$;
COMMENT ON FUNCTION api.product_upsert(text, text, text, bigint, boolean, text) IS
  'Admin: create or change a bar product. price in minor units (1..1000000); is_deposit marks a refundable deposit such as a cup.';
GRANT EXECUTE ON FUNCTION api.product_upsert(text, text, text, bigint, boolean, text) TO admin;

CREATE OR REPLACE FUNCTION api.products() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  -- Who changed a product is for the admins (cards.products.updated_by), not the menu.
  SELECT coalesce(jsonb_agg(to_jsonb(p) - 'updated_by' ORDER BY p.category, p.name), '[]') FROM cards.products p
$$;
COMMENT ON FUNCTION api.products() IS 'Everyone: the bar menu with prices in minor units.';
GRANT EXECUTE ON FUNCTION api.products() TO anon, kiosk, staff, operator, admin;

CREATE OR REPLACE FUNCTION api.bar_order(card_id text, items jsonb, request_id text, point_of_sale text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id);
BEGIN
  replay := core.idem_begin('bar_order', request_id,
                            jsonb_build_object('card_id', id, 'items', items, 'point_of_sale', point_of_sale));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  -- No transfer key: the request is the unit of idempotency here (see migration 0800).
  RETURN core.idem_finish('bar_order', request_id, cards.bar_order(id, items, point_of_sale, NULL));
END $$;
COMMENT ON FUNCTION api.bar_order(text, jsonb, text, text) IS
  'Staff: sell items=[{product_id, quantity 1..100}] to a card at catalogue prices. Returns {order_id, total, previous_balance, new_balance}. Declines: INSUFFICIENT_FUNDS 402 (balance in details), CARD_NOT_ACTIVE 403.';
GRANT EXECUTE ON FUNCTION api.bar_order(text, jsonb, text, text) TO staff;

CREATE OR REPLACE FUNCTION api.deposit_return(card_id text, quantity int, request_id text, point_of_sale text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id);
BEGIN
  replay := core.idem_begin('deposit_return', request_id,
                            jsonb_build_object('card_id', id, 'quantity', quantity, 'point_of_sale', point_of_sale));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('deposit_return', request_id,
                          cards.deposit_return(id, quantity, point_of_sale, core.principal() || ':' || request_id));
END $$;
COMMENT ON FUNCTION api.deposit_return(text, int, text, text) IS
  'Staff: take back quantity deposits (cups) and credit what this card paid for them. Declines DEPOSIT_NOT_OUTSTANDING (409) beyond the deposits it paid and has not returned.';
GRANT EXECUTE ON FUNCTION api.deposit_return(text, int, text, text) TO staff;

CREATE OR REPLACE FUNCTION api.checkpoint_recharge(card_id text, amount bigint, payment_method text,
                                                   checkpoint_id text, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id);
BEGIN
  replay := core.idem_begin('checkpoint_recharge', request_id, jsonb_build_object(
    'card_id', id, 'amount', amount, 'payment_method', payment_method, 'checkpoint_id', checkpoint_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('checkpoint_recharge', request_id,
    cards.checkpoint_recharge(id, amount, payment_method, checkpoint_id, core.principal() || ':' || request_id));
END $$;
COMMENT ON FUNCTION api.checkpoint_recharge(text, bigint, text, text, text) IS
  'Staff: recharge a card at a checkpoint, payment_method cash|card, 1 <= amount <= setting cards.max_recharge (default 100000). The staff member comes from the token.';
GRANT EXECUTE ON FUNCTION api.checkpoint_recharge(text, bigint, text, text, text) TO staff;

CREATE OR REPLACE FUNCTION api.recharge_intent_create(card_id text, amount bigint, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id);
BEGIN
  replay := core.idem_begin('recharge_intent_create', request_id, jsonb_build_object('card_id', id, 'amount', amount));
  IF replay IS NOT NULL THEN
    -- A retry must see the session attached since the first call.
    RETURN coalesce((SELECT cards.intent_json(i) FROM cards.recharge_intents i
                      WHERE i.intent_id::text = replay ->> 'intent_id'), replay);
  END IF;
  RETURN core.idem_finish('recharge_intent_create', request_id, cards.recharge_intent_create(id, amount));
END $$;
COMMENT ON FUNCTION api.recharge_intent_create(text, bigint, text) IS
  'Anyone with the card id: record a pending online recharge (step 1 of POST /recharge/checkout). 1 <= amount <= cards.max_online_recharge.';
GRANT EXECUTE ON FUNCTION api.recharge_intent_create(text, bigint, text) TO anon, staff, admin;

CREATE OR REPLACE FUNCTION api.recharge_intent_attach(intent_id uuid, session_id text, checkout_url text)
RETURNS jsonb LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT cards.recharge_intent_attach(intent_id, session_id, checkout_url)
$$;
COMMENT ON FUNCTION api.recharge_intent_attach(uuid, text, text) IS
  'Internal (payments role): store the Stripe Checkout Session created for an intent. Idempotent for the same session.';
GRANT EXECUTE ON FUNCTION api.recharge_intent_attach(uuid, text, text) TO payments;

CREATE OR REPLACE FUNCTION api.stripe_event_apply(event jsonb) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT cards.stripe_event_apply(event)
$$;
COMMENT ON FUNCTION api.stripe_event_apply(jsonb) IS
  'Internal (payments role): apply one signature-verified Stripe event once (by event id, and per payment intent): credits amount_total, applies refunds (debt + block past the balance), blocks on disputes.';
GRANT EXECUTE ON FUNCTION api.stripe_event_apply(jsonb) TO payments;

CREATE OR REPLACE FUNCTION api.stripe_payload_apply(payload text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT cards.stripe_payload_apply(payload)
$$;
COMMENT ON FUNCTION api.stripe_payload_apply(text) IS
  'Internal (payments role): the webhook''s entry - a signature-verified Stripe event body as sent. A \u0000 in a string (which jsonb cannot hold) becomes U+FFFD; the body is kept with its sha256; then applied as api.stripe_event_apply.';
GRANT EXECUTE ON FUNCTION api.stripe_payload_apply(text) TO payments;

CREATE OR REPLACE FUNCTION api.refund_request(card_id text, name text, email text, iban text, request_id text,
                                              refund_code text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb; id text := cards.normalize_id(card_id); payload jsonb;
BEGIN
  -- The code is not part of the compared payload: the key store keeps a fast hash of the
  -- payload, and a fast hash of a short secret can be reversed. A corrected code takes a
  -- new request_id anyway, since a wrong-code decline is replayed for its key.
  payload := jsonb_build_object('card_id', id, 'name', name, 'email', email, 'iban', iban);
  IF refund_code IS NOT NULL THEN
    payload := payload || '{"refund_code_given": true}';
  END IF;
  replay := core.idem_begin('refund_request', request_id, payload);
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('refund_request', request_id,
                          cards.refund_request(id, name, email, iban, refund_code, core.principal() || ':' || request_id));
END $$;
COMMENT ON FUNCTION api.refund_request(text, text, text, text, text, text) IS
  'The card holder, proving possession with refund_code (given with the card at issue, or printed with it), or staff/admin at a refund desk without it (the filer is recorded on the refund): refund the balance minus the fee (cards.refund_fee, default 200) to an IBAN. Freezes the card at once. One refund per card; NOTHING_TO_REFUND (409) when balance <= fee. Without a code and not staff: INVALID_REQUEST (400). Declines: REFUND_CODE_INVALID (403, counted; details.attempts_left), REFUND_CODE_LOCKED (429, after cards.refund_code_max_attempts wrong codes, for cards.refund_code_lockout_seconds; details.locked_until), REFUND_CODE_NOT_SET (403, a card issued before refund codes: refund at a desk).';
GRANT EXECUTE ON FUNCTION api.refund_request(text, text, text, text, text, text) TO anon, staff, admin;

CREATE OR REPLACE FUNCTION api.card_refund_codes_import(codes jsonb, request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  -- The payload compared on a replay is the card ids only, never the codes (see refund_request).
  replay := core.idem_begin('card_refund_codes_import', request_id, jsonb_build_object('card_ids',
              CASE WHEN jsonb_typeof(codes) = 'array' THEN jsonb_path_query_array(codes, '$[*].card_id') END));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('card_refund_codes_import', request_id, cards.refund_codes_import(codes));
END $$;
COMMENT ON FUNCTION api.card_refund_codes_import(jsonb, text) IS
  'Admin: the refund codes of a pre-printed batch, codes=[{card_id, refund_code}] (1..50 a call; a code is 8-64 letters or digits, spaces and dashes ignored), kept as bcrypt hashes. Returns {imported, unchanged}. The same code again is unchanged; a card that already has another code refuses the whole batch (CONFLICT, details.card_ids). Import before issuing: an issued card keeps an imported code instead of getting a new one.';
GRANT EXECUTE ON FUNCTION api.card_refund_codes_import(jsonb, text) TO admin;

CREATE OR REPLACE FUNCTION api.refund_export(request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  replay := core.idem_begin('refund_export', request_id, '{}');
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('refund_export', request_id,
    cards.refund_export('KL' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS') || '-'
                        || left(md5(core.principal() || request_id), 12)));
END $$;
COMMENT ON FUNCTION api.refund_export(text) IS
  'Admin: a SEPA credit-transfer file (pain.001.001.03) for every pending EUR refund, which become exported: exactly the refunds in the file, taken and locked once, so a refund filed during the export stays pending for the next file and two exports never share one. The same request_id returns the same file.';
GRANT EXECUTE ON FUNCTION api.refund_export(text) TO admin;

CREATE OR REPLACE FUNCTION api.nfc_scan(card_id text, device_id text, location text, status text) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT cards.nfc_scan(card_id, device_id, location, status)
$$;
COMMENT ON FUNCTION api.nfc_scan(text, text, text, text) IS
  'Staff: log an NFC read (status e.g. ok, read_error); an identical scan from the same device within 2 s is flagged duplicate.';
GRANT EXECUTE ON FUNCTION api.nfc_scan(text, text, text, text) TO staff;

-- The festival's reports (sql/20_cards/85_reports.sql), for the operator console and psql.
-- Festival cards belong to no company: admins only.

CREATE OR REPLACE FUNCTION api.festival_sales_per_hour(since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE upto timestamptz := coalesce(until, now()); from_ timestamptz := coalesce(since, coalesce(until, now()) - interval '24 hours');
BEGIN
  IF NOT isfinite(from_) OR NOT isfinite(upto) OR upto <= from_ OR upto - from_ > interval '31 days' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'since must be before until, at most 31 days apart',
                             jsonb_build_object('argument', CASE WHEN since IS NULL THEN 'until' ELSE 'since' END));
  END IF;
  RETURN cards.sales_per_hour(from_, upto);
END $$;
COMMENT ON FUNCTION api.festival_sales_per_hour(timestamptz, timestamptz) IS
  'Admin: bar sales per point of sale per UTC hour in [since, until) (default: the last 24 hours; at most 31 days): hours (every hour of the window, for a chart), rows [{point_of_sale, hour, orders, sales, deposits_taken}] oldest hour first (hours with sales only), totals per point of sale (largest first), the event currency. sales exclude deposits.';
GRANT EXECUTE ON FUNCTION api.festival_sales_per_hour(timestamptz, timestamptz) TO admin;

CREATE OR REPLACE FUNCTION api.festival_top_products(since timestamptz DEFAULT NULL, "limit" int DEFAULT 10)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..100', jsonb_build_object('argument', 'limit'));
  ELSIF NOT isfinite(since) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'since must be a finite time', jsonb_build_object('argument', 'since'));
  END IF;
  RETURN cards.top_products_since(since, "limit");
END $$;
COMMENT ON FUNCTION api.festival_top_products(timestamptz, int) IS
  'Admin: the bar products with the most revenue since a time (null: ever), at most limit (1..100, default 10): [{product_id, name, category, units, revenue}]. Deposits (cups) are not products.';
GRANT EXECUTE ON FUNCTION api.festival_top_products(timestamptz, int) TO admin;

CREATE OR REPLACE FUNCTION api.festival_recharges(since timestamptz DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT isfinite(since) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'since must be a finite time', jsonb_build_object('argument', 'since'));
  END IF;
  RETURN cards.recharges_since(since);
END $$;
COMMENT ON FUNCTION api.festival_recharges(timestamptz) IS
  'Admin: card recharges since a time (null: ever) per checkpoint and payment method, largest amount first: [{checkpoint_id (online for Stripe), method cash|card|stripe, recharges, amount}].';
GRANT EXECUTE ON FUNCTION api.festival_recharges(timestamptz) TO admin;

CREATE OR REPLACE FUNCTION api.festival_cards_attention("limit" int DEFAULT 100)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN cards.needing_attention("limit");
END $$;
COMMENT ON FUNCTION api.festival_cards_attention(int) IS
  'Admin: cards with debt (a refund or chargeback took more than the balance) or a disputed Stripe payment, largest debt first: [{card_id, status, balance, debt, disputed}].';
GRANT EXECUTE ON FUNCTION api.festival_cards_attention(int) TO admin;

CREATE OR REPLACE FUNCTION api.refunds_list(status text DEFAULT NULL, "limit" int DEFAULT 100)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  ELSIF status IS NOT NULL AND status NOT IN ('pending', 'exported') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'status must be pending, exported or null (both)',
                             jsonb_build_object('argument', 'status'));
  END IF;
  RETURN cards.refunds_list(status, "limit");
END $$;
COMMENT ON FUNCTION api.refunds_list(text, int) IS
  'Admin: card refunds newest first (status pending | exported, null: both; at most limit 1..1000) with the IBAN masked, and summary {pending, exported}: {count, amount} over all refunds. refund_export pays the pending ones by SEPA file.';
GRANT EXECUTE ON FUNCTION api.refunds_list(text, int) TO admin;

CREATE OR REPLACE FUNCTION api.refund_exports_list("limit" int DEFAULT 50)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  END IF;
  RETURN cards.refund_exports_list("limit");
END $$;
COMMENT ON FUNCTION api.refund_exports_list(int) IS
  'Admin: the SEPA refund files made by refund_export, newest first: [{export_id, message_id, count, total, currency, created_at}]; refund_export_file gives one file again.';
GRANT EXECUTE ON FUNCTION api.refund_exports_list(int) TO admin;

CREATE OR REPLACE FUNCTION api.refund_export_file(export_id bigint)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF export_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'export_id is required', jsonb_build_object('argument', 'export_id'));
  END IF;
  RETURN cards.refund_export_file(export_id);
END $$;
COMMENT ON FUNCTION api.refund_export_file(bigint) IS
  'Admin: a SEPA refund file made by refund_export, again (pain.001.001.03 XML as exported, with filename <message_id>.xml); it changes nothing. REFUND_EXPORT_NOT_FOUND (404).';
GRANT EXECUTE ON FUNCTION api.refund_export_file(bigint) TO admin;
