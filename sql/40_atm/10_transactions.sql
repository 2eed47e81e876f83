-- atm: customer transactions - create, status, pay (which enqueues the one dispense job).

-- What one coin the hoppers pay is worth, in cents: a US quarter. Amounts are whole coins,
-- and each coin paid moves this much from a kiosk's float to dispensed. (The tables'
-- CHECKs, in migrations/0200, state it too: migrations cannot use sql/ objects.)
-- IMMUTABLE LANGUAGE sql: inlined and folded to the constant where it is used.
CREATE OR REPLACE FUNCTION atm.coin_cents() RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 25::bigint $$;

CREATE OR REPLACE FUNCTION atm.log_transaction_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO atm.transaction_events (transaction_id, old_status, new_status, actor)
  VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, core.actor());
  RETURN NULL;
END $$;
CREATE TRIGGER transaction_created_audit AFTER INSERT ON atm.transactions
  FOR EACH ROW EXECUTE FUNCTION atm.log_transaction_status();
-- Only real changes are events: a maintenance run that changes nothing writes nothing.
CREATE TRIGGER transaction_status_audit AFTER UPDATE OF status ON atm.transactions
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION atm.log_transaction_status();

CREATE OR REPLACE FUNCTION atm.transaction_json(t atm.transactions) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN jsonb_build_object(
    'id', t.id, 'kiosk_id', t.kiosk_id, 'amount', t.amount, 'fee', t.fee, 'total', t.total,
    'quarters', t.quarters, 'currency', t.currency, 'status', t.status, 'expires_at', t.expires_at,
    'payment_reference', t.payment_reference,
    'pay_url', (core.setting('atm.pay_url_base') #>> '{}') || '/pay/' || t.id);
END $$;

CREATE OR REPLACE FUNCTION atm.transaction_create(kiosk_id text, amount bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  cfg atm.kiosk_config;
  t   atm.transactions;
BEGIN
  SELECT * INTO cfg FROM atm.kiosk_config c WHERE c.kiosk_id = transaction_create.kiosk_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('FORBIDDEN', format('kiosk %s is not an ATM kiosk', kiosk_id));
  END IF;
  IF amount IS NULL OR amount <= 0 OR amount % atm.coin_cents() <> 0 OR amount > cfg.max_amount THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      format('amount must be a positive multiple of %s up to %s cents', atm.coin_cents(), cfg.max_amount),
      jsonb_build_object('argument', 'amount', 'max', cfg.max_amount));
  END IF;
  INSERT INTO atm.transactions (kiosk_id, amount, fee, total, quarters, currency, payment_reference, expires_at)
  VALUES (transaction_create.kiosk_id, amount, cfg.fee_flat, amount + cfg.fee_flat, amount / atm.coin_cents(),
          core.setting('atm.currency') #>> '{}', replace(gen_random_uuid()::text, '-', ''),
          now() + make_interval(mins => (core.setting('atm.expiry_minutes'))::int))
  RETURNING * INTO t;
  RETURN atm.transaction_json(t);
END $$;

-- Status for the kiosk screen and the mini app, with dispense progress.
CREATE OR REPLACE FUNCTION atm.transaction_status(id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  t atm.transactions;
  j atm.dispense_jobs;
BEGIN
  SELECT * INTO t FROM atm.transactions x WHERE x.id = transaction_status.id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('TRANSACTION_NOT_FOUND', format('transaction %s does not exist', id));
  END IF;
  SELECT * INTO j FROM atm.dispense_jobs x WHERE x.transaction_id = t.id;
  RETURN atm.transaction_json(t) || jsonb_build_object(
    'expired', t.status = 'pending' AND t.expires_at < now(),
    'dispense', CASE WHEN j.id IS NULL THEN NULL ELSE jsonb_build_object(
      'job_id', j.id, 'status', j.status, 'coins_paid', j.coins_paid, 'quarters', j.quarters) END);
END $$;

-- The one spelling of a World ID nullifier hash, or NULL when the text is none. It is an
-- element of the BN254 scalar field the proofs work in, so 0x00ab, 0xAB and 0xab are the
-- same person and must count as one against the per-person limit: lower-case hex, one
-- 0x, no leading zeros. A number at or above the field's order is no field element (the
-- same person plus the order would otherwise be a fresh spelling).
CREATE OR REPLACE FUNCTION atm.canonical_nullifier(hash text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE digits text;
BEGIN
  -- ^0[xX][0-9a-fA-F]{1,128}$, spelled without a regular expression: this runs on every
  -- payment, and the regex engine compiles that bounded repeat into ~130 states per match
  -- (~220k instructions, a tenth of the payment).
  IF hash IS NULL OR length(hash) NOT BETWEEN 3 AND 130 OR left(hash, 1) <> '0' OR substr(hash, 2, 1) NOT IN ('x', 'X')
     OR translate(substr(hash, 3), '0123456789abcdefABCDEF', '') <> '' THEN
    RETURN NULL;
  END IF;
  digits := coalesce(nullif(ltrim(lower(substr(hash, 3)), '0'), ''), '0');
  -- Equal-length lower-case hex compares in byte order as the numbers do.
  IF length(digits) > 64 OR lpad(digits, 64, '0') COLLATE "C"
       >= '30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001' COLLATE "C" THEN
    RETURN NULL;
  END IF;
  RETURN '0x' || digits;
END $$;

-- Book a confirmed World App payment, or the part of it beyond the total, as owed back
-- to the payer: clearing -> refund due, one row per payment (the payment's id is the
-- transfer's key and UNIQUE there), an alert and a NOTIFY atm_ops 'refund:<id>' for the
-- person who pays it back (atm.refund_settle). Returns what the answer tells the payer.
CREATE OR REPLACE FUNCTION atm.book_refund(t atm.transactions, world_payment_id text, nullifier_hash text,
                                           reason text, amount bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  posted    record;
  refund_id bigint;
BEGIN
  posted := ledger.post_transfer('atm_refund_due',
    ARRAY[ledger.house_account('world_payment_clearing', 'world_app', t.currency),
          ledger.house_account('atm_refund_due', 'world_app', t.currency)],
    ARRAY[-amount, amount], world_payment_id,
    jsonb_build_object('transaction_id', t.id, 'world_payment_id', world_payment_id, 'reason', reason));
  INSERT INTO atm.refunds (transaction_id, world_payment_id, nullifier_hash, reason, amount, currency, transfer_id)
  VALUES (t.id, world_payment_id, nullifier_hash, reason, amount, t.currency, posted.transfer_id)
  RETURNING id INTO refund_id;
  INSERT INTO atm.alerts (kind, message, refund_id)
  VALUES ('refund_due', format('%s %s of World App payment %s for ATM transaction %s are due back to the payer (%s)',
                               amount, t.currency, world_payment_id, t.id, reason), refund_id);
  PERFORM pg_notify('atm_ops', 'refund:' || refund_id);
  RETURN jsonb_build_object('refund_id', refund_id, 'reason', reason, 'amount', amount, 'currency', t.currency,
                            'status', 'due');
END $$;

-- Pay with facts the RPC verified (World ID proof bound to this transaction, the World
-- App payment). Locks the transaction; declines are committed and replayed by key.
-- Nothing is booked for a payment that is not ours to book (not mined, another
-- transaction's reference, no accepted token, paid to another address: 'misdirected')
-- or that is booked already (PAYMENT_ALREADY_USED). Every other payment is money we hold, so it is booked: it pays
-- the transaction (also up to atm.late_payment_grace_minutes after expiry; what it brings
-- beyond the total is refund due), or, when it cannot - after the grace (EXPIRED), for a
-- transaction already paid (ALREADY_PAID), short (PAYMENT_NOT_CONFIRMED), over the
-- person's limit (PERSON_LIMIT_REACHED) - all of it is refund due, and the decline says
-- so in details.refund. Success: ledger transfer, exactly one dispense job, NOTIFY the kiosk.
CREATE OR REPLACE FUNCTION atm.pay(transaction_id uuid, nullifier_hash text, world_payment_id text,
                                   payment_status text, payment_reference text, paid_amount bigint,
                                   transfer_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  t         atm.transactions;
  person    text := atm.canonical_nullifier(nullifier_hash);
  limit_    bigint := (core.setting('atm.person_daily_limit'))::bigint;
  grace     interval := make_interval(mins => (core.setting('atm.late_payment_grace_minutes'))::int);
  used      bigint;
  job_id    bigint;
  legs_acct bigint[];
  legs_amt  bigint[];
  reason    text;
  message   text;
  details   jsonb;
  refund    jsonb;
BEGIN
  IF person IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      'nullifier_hash must be a World ID nullifier: 0x and hex digits, less than the BN254 field order',
      jsonb_build_object('argument', 'nullifier_hash'));
  ELSIF world_payment_id IS NULL OR length(world_payment_id) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'world_payment_id is required',
                             jsonb_build_object('argument', 'world_payment_id'));
  ELSIF paid_amount IS NULL OR paid_amount < 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'paid_amount must be >= 0', jsonb_build_object('argument', 'paid_amount'));
  END IF;

  SELECT * INTO t FROM atm.transactions x WHERE x.id = pay.transaction_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('TRANSACTION_NOT_FOUND', format('transaction %s does not exist', transaction_id));
  END IF;
  IF t.status = 'pending' AND t.expires_at < now() - grace THEN
    UPDATE atm.transactions x SET status = 'expired' WHERE x.id = t.id;
    t.status := 'expired';
  END IF;
  IF payment_status IS DISTINCT FROM 'mined' OR payment_reference IS DISTINCT FROM t.payment_reference
     OR paid_amount = 0 THEN
    RETURN core.decline('PAYMENT_NOT_CONFIRMED',
      CASE WHEN payment_status = 'misdirected' THEN 'the payment went to another address than this operator''s'
           WHEN payment_status IS DISTINCT FROM 'mined' THEN format('payment is %s, not mined', coalesce(payment_status, 'unknown'))
           WHEN payment_reference IS DISTINCT FROM t.payment_reference THEN 'payment reference does not match this transaction'
           ELSE 'the payment is in no accepted token' END,
      jsonb_build_object('transaction_id', t.id, 'total', t.total, 'paid_amount', paid_amount,
                         'payment_status', payment_status));
  END IF;
  -- One World App payment is booked once, wherever: on the transaction it paid or as a
  -- refund. Its bookings serialize here (and UNIQUE in both tables says so too).
  PERFORM pg_advisory_xact_lock(hashtextextended('atm.payment:' || world_payment_id, 0));
  IF EXISTS (SELECT 1 FROM atm.transactions x WHERE x.world_payment_id = pay.world_payment_id)
     OR EXISTS (SELECT 1 FROM atm.refunds r WHERE r.world_payment_id = pay.world_payment_id) THEN
    RETURN core.decline('PAYMENT_ALREADY_USED', 'this World App payment is already booked',
                        jsonb_build_object('world_payment_id', world_payment_id));
  END IF;

  details := jsonb_build_object('transaction_id', t.id, 'total', t.total, 'paid_amount', paid_amount);
  IF t.status NOT IN ('pending', 'expired') THEN
    reason := 'already_paid';
    message := format('transaction %s is already %s', t.id, t.status);
    details := details || jsonb_build_object('status', t.status);
  ELSIF t.expires_at < now() - grace THEN
    reason := 'late';
    message := format('transaction %s expired at %s', t.id, t.expires_at);
    details := details || jsonb_build_object('expires_at', t.expires_at);
  ELSIF paid_amount < t.total THEN
    reason := 'underpaid';
    message := format('paid %s, the transaction costs %s', paid_amount, t.total);
  ELSE
    -- One person's payments serialize here, so two at once cannot both fit under the limit.
    PERFORM pg_advisory_xact_lock(hashtextextended('atm.person:' || person, 0));
    SELECT coalesce(sum(x.total), 0)::bigint INTO used FROM atm.transactions x
     WHERE x.nullifier_hash = person AND x.paid_at > now() - interval '24 hours';
    IF used + t.total > limit_ THEN
      reason := 'person_limit';
      message := format('this World ID paid %s in the last 24 h; the limit is %s', used, limit_);
      details := details || jsonb_build_object('used', used, 'limit', limit_);
    END IF;
  END IF;
  IF reason IS NOT NULL THEN
    details := details || jsonb_build_object('refund', atm.book_refund(t, world_payment_id, person, reason, paid_amount));
    message := message || format('; the payment of %s is booked as due back to the payer', paid_amount);
    RETURN CASE reason WHEN 'already_paid' THEN core.decline('ALREADY_PAID', message, details)
                       WHEN 'late' THEN core.decline('EXPIRED', message, details)
                       WHEN 'underpaid' THEN core.decline('PAYMENT_NOT_CONFIRMED', message, details)
                       ELSE core.decline('PERSON_LIMIT_REACHED', message, details) END;
  END IF;

  UPDATE atm.transactions x
     SET status = 'paid', nullifier_hash = person, world_payment_id = pay.world_payment_id,
         paid_amount = pay.paid_amount, paid_at = now()
   WHERE x.id = t.id;
  legs_acct := ARRAY[ledger.house_account('world_payment_clearing', 'world_app', t.currency),
                     ledger.house_account('atm_coin_float', t.kiosk_id, t.currency)];
  legs_amt := ARRAY[-t.total, t.amount];
  IF t.fee > 0 THEN  -- a fee-free kiosk has no fee leg (postings are never zero)
    legs_acct := legs_acct || ledger.house_account('atm_fee_revenue', t.kiosk_id, t.currency);
    legs_amt := legs_amt || t.fee;
  END IF;
  -- House accounts only, opened without a lower bound: the transfer cannot come back short.
  PERFORM ledger.post_transfer('atm_payment', legs_acct, legs_amt, transfer_key,
    jsonb_build_object('transaction_id', t.id, 'world_payment_id', world_payment_id));
  IF paid_amount > t.total THEN
    refund := atm.book_refund(t, world_payment_id, person, 'excess', paid_amount - t.total);
  END IF;
  INSERT INTO atm.dispense_jobs (transaction_id, kiosk_id, quarters, max_attempts)
  VALUES (t.id, t.kiosk_id, t.quarters, (core.setting('atm.max_attempts'))::int)
  RETURNING id INTO job_id;
  INSERT INTO atm.job_events (job_id, old_status, new_status, coins_paid, actor)
  VALUES (job_id, NULL, 'pending', 0, core.actor());
  -- The hint only: the job id. The agent claims through SQL, and polls anyway.
  PERFORM pg_notify('atm_kiosk_' || t.kiosk_id, job_id::text);
  RETURN jsonb_build_object('transaction_id', t.id, 'status', 'paid', 'job_id', job_id, 'quarters', t.quarters)
      || CASE WHEN refund IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('refund', refund) END;
END $$;

-- Operator/admin: a refund due was paid back to the payer; record how (method, the
-- transfer's reference, a note) and move it from refund due to refunds paid, per method.
-- A refund already settled declines with REFUND_ALREADY_SETTLED and how it was settled.
CREATE OR REPLACE FUNCTION atm.refund_settle(refund_id bigint, method text, reference text, note text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r      atm.refunds;
  posted record;
BEGIN
  IF method IS NULL OR method NOT IN ('world_app', 'cash', 'bank_transfer', 'other') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'method must be world_app, cash, bank_transfer or other',
                             jsonb_build_object('argument', 'method'));
  ELSIF reference IS NOT NULL AND length(reference) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'reference must be 1-200 characters', jsonb_build_object('argument', 'reference'));
  ELSIF method IN ('world_app', 'bank_transfer') AND reference IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('a %s refund needs the transfer''s reference', method),
                             jsonb_build_object('argument', 'reference'));
  ELSIF note IS NOT NULL AND length(note) > 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'note must be at most 1000 characters', jsonb_build_object('argument', 'note'));
  END IF;
  SELECT * INTO r FROM atm.refunds x WHERE x.id = refund_settle.refund_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('ATM_REFUND_NOT_FOUND', format('ATM refund %s does not exist', refund_id));
  END IF;
  IF r.status <> 'due' THEN
    RETURN core.decline('REFUND_ALREADY_SETTLED', format('ATM refund %s was already settled at %s', r.id, r.settled_at),
      jsonb_build_object('refund_id', r.id, 'method', r.method, 'reference', r.settled_reference,
                         'settled_at', r.settled_at, 'settled_by', r.settled_by));
  END IF;
  posted := ledger.post_transfer('atm_refund_settled',
    ARRAY[ledger.house_account('atm_refund_due', 'world_app', r.currency),
          ledger.house_account('atm_refunds_paid', method, r.currency)],
    ARRAY[-r.amount, r.amount], r.id::text,
    jsonb_build_object('refund_id', r.id, 'transaction_id', r.transaction_id, 'method', method, 'reference', reference));
  UPDATE atm.refunds x
     SET status = 'settled', settled_transfer_id = posted.transfer_id, method = refund_settle.method,
         settled_reference = reference, settled_note = note, settled_by = core.actor(), settled_at = now()
   WHERE x.id = r.id
  RETURNING * INTO r;
  UPDATE atm.alerts a SET resolved_at = now() WHERE a.refund_id = r.id AND a.resolved_at IS NULL;
  RETURN atm.refund_json(r);
END $$;

CREATE OR REPLACE FUNCTION atm.refund_json(r atm.refunds) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN jsonb_build_object(
    'refund_id', r.id, 'transaction_id', r.transaction_id, 'world_payment_id', r.world_payment_id,
    'reason', r.reason, 'amount', r.amount, 'currency', r.currency, 'status', r.status,
    'created_at', r.created_at, 'method', r.method, 'reference', r.settled_reference, 'note', r.settled_note,
    'settled_by', r.settled_by, 'settled_at', r.settled_at);
END $$;

-- DBA: expire stale pending transactions. Returns how many; a second run finds none
-- and so writes no events.
CREATE OR REPLACE FUNCTION atm.cleanup_expired_transactions() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
  UPDATE atm.transactions t SET status = 'expired' WHERE t.status = 'pending' AND t.expires_at < now();
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
