-- api: kiosks and the crypto-to-quarters ATM. The calling kiosk is always
-- kiosk.require_kiosk() (token claim or login role) - never an argument.

CREATE OR REPLACE FUNCTION api.atm_kiosk_register(kiosk_id text, name text, location text, fee_flat bigint,
                                              max_amount bigint, request_id text, company_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb; k kiosk.kiosks; fee bigint := coalesce(fee_flat, 50);
BEGIN
  replay := core.idem_begin('atm_kiosk_register', request_id, jsonb_build_object(
    'kiosk_id', kiosk_id, 'name', name, 'location', location, 'fee_flat', fee_flat, 'max_amount', max_amount,
    'company_id', company_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  IF fee < 0 OR fee > 100000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'fee_flat must be 0..100000 cents', jsonb_build_object('argument', 'fee_flat'));
  ELSIF max_amount IS NULL OR max_amount <= 0 OR max_amount % atm.coin_cents() <> 0 OR max_amount > 1000000 THEN
    PERFORM core.raise_error('INVALID_REQUEST',
                             format('max_amount must be a positive multiple of %s up to 1000000 cents', atm.coin_cents()),
                             jsonb_build_object('argument', 'max_amount'));
  END IF;
  k := kiosk.register(kiosk_id, 'atm', name, location, company_id);
  INSERT INTO atm.kiosk_config (kiosk_id, fee_flat, max_amount) VALUES (k.kiosk_id, fee, max_amount);
  RETURN core.idem_finish('atm_kiosk_register', request_id, jsonb_build_object(
    'kiosk_id', k.kiosk_id, 'kind', k.kind, 'name', k.name, 'location', k.location, 'fee_flat', fee,
    'max_amount', max_amount, 'company_id', k.company_id));
END $$;
COMMENT ON FUNCTION api.atm_kiosk_register(text, text, text, bigint, bigint, text, text) IS
  'Admin: register an ATM kiosk (kiosk_id: 1-40 of a-z 0-9 _) of company_id (its operators see it; NULL: admins only). fee_flat in cents (NULL = 50), max_amount in cents, a whole number of quarters. Provision its agent with `kioskledger kiosk-provision`.';
GRANT EXECUTE ON FUNCTION api.atm_kiosk_register(text, text, text, bigint, bigint, text, text) TO admin;

CREATE OR REPLACE FUNCTION api.kiosk_heartbeat(link_up boolean DEFAULT NULL, pending_orders int DEFAULT NULL,
                                               app_version text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE id text := kiosk.require_kiosk();
BEGIN
  IF pending_orders IS NOT NULL AND pending_orders < 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'pending_orders must be >= 0', jsonb_build_object('argument', 'pending_orders'));
  ELSIF app_version IS NOT NULL AND length(app_version) > 64 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'app_version must be at most 64 characters',
                             jsonb_build_object('argument', 'app_version'));
  END IF;
  PERFORM kiosk.touch(id, link_up, pending_orders, app_version);
  RETURN (SELECT jsonb_build_object('kiosk_id', k.kiosk_id, 'last_seen_at', k.last_seen_at)
            FROM kiosk.kiosks k WHERE k.kiosk_id = id);
END $$;
COMMENT ON FUNCTION api.kiosk_heartbeat(boolean, int, text) IS
  'Kiosk: I am alive (claims count too). Self-checkout kiosks also report link_up, pending_orders, app_version.';
GRANT EXECUTE ON FUNCTION api.kiosk_heartbeat(boolean, int, text) TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.atm_transaction_create(amount bigint, request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb; id text := kiosk.require_kiosk();
BEGIN
  replay := core.idem_begin('atm_transaction_create', request_id, jsonb_build_object('amount', amount));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  PERFORM kiosk.touch(id);
  RETURN core.idem_finish('atm_transaction_create', request_id, atm.transaction_create(id, amount));
END $$;
COMMENT ON FUNCTION api.atm_transaction_create(bigint, text) IS
  'Kiosk: a customer wants amount cents of quarters (a positive whole number of quarters, at most the kiosk''s max). Returns {id, amount, fee, total, quarters, expires_at, pay_url, payment_reference, status}.';
GRANT EXECUTE ON FUNCTION api.atm_transaction_create(bigint, text) TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.atm_transaction_status(id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN atm.transaction_status(id);
END $$;
COMMENT ON FUNCTION api.atm_transaction_status(uuid) IS
  'Anyone with the transaction id: its status and dispense progress (coins paid so far).';
GRANT EXECUTE ON FUNCTION api.atm_transaction_status(uuid) TO anon, kiosk, kiosk_agent, operator, admin;

CREATE OR REPLACE FUNCTION api.atm_pay(transaction_id uuid, nullifier_hash text, world_payment_id text,
                                       payment_status text, payment_reference text, paid_amount bigint,
                                       request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  replay jsonb;
  -- Every customer's /atm/pay reaches us as the one payments principal: keys are scoped
  -- per transaction, or two customers who pick the same request_id would collide.
  scope text := 'atm_pay:' || transaction_id;
BEGIN
  IF transaction_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'transaction_id is required', jsonb_build_object('argument', 'transaction_id'));
  END IF;
  -- The key covers what the client sent, not the facts looked up for it: a retry after a
  -- declined (say, still pending) payment replays that decline; a new attempt takes a new key.
  replay := core.idem_begin(scope, request_id, jsonb_build_object(
    'transaction_id', transaction_id,
    'nullifier_hash', coalesce(atm.canonical_nullifier(nullifier_hash), nullifier_hash),
    'world_payment_id', world_payment_id));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  -- A transaction is paid once: its id is the payment transfer's key.
  RETURN core.idem_finish(scope, request_id, atm.pay(transaction_id, nullifier_hash, world_payment_id,
    payment_status, payment_reference, paid_amount, transaction_id::text));
END $$;
COMMENT ON FUNCTION api.atm_pay(uuid, text, text, text, text, bigint, text) IS
  'Internal (payments role, from POST /atm/pay after World ID and payment verification): pay a pending transaction (also within atm.late_payment_grace_minutes after expiry) and queue its one dispense job; an excess is booked as refund due. Declines: EXPIRED 410, PAYMENT_NOT_CONFIRMED 402, PERSON_LIMIT_REACHED 403, ALREADY_PAID / PAYMENT_ALREADY_USED 409; a confirmed payment that cannot pay is booked whole as refund due, named in details.refund. request_id is scoped per transaction.';
GRANT EXECUTE ON FUNCTION api.atm_pay(uuid, text, text, text, text, bigint, text) TO payments;

CREATE OR REPLACE FUNCTION api.atm_refunds_due(kiosk_id text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN atm.refunds_due_of(kiosk_id);
END $$;
COMMENT ON FUNCTION api.atm_refunds_due(text) IS
  'Operator/admin: World App payments owed back to their payers (reason late, excess, already_paid, underpaid, person_limit), oldest first, optionally for one kiosk. Pay each back, then record it with atm_refund_settle. An operator sees its company''s kiosks only.';
GRANT EXECUTE ON FUNCTION api.atm_refunds_due(text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.atm_refund_settle(refund_id bigint, method text, reference text, note text,
                                                 request_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF refund_id IS NOT NULL AND NOT atm.refund_visible(refund_id) THEN
    PERFORM core.raise_error('ATM_REFUND_NOT_FOUND', format('ATM refund %s does not exist', refund_id),
                             jsonb_build_object('refund_id', refund_id));
  END IF;
  replay := core.idem_begin('atm_refund_settle', request_id, jsonb_build_object(
    'refund_id', refund_id, 'method', method, 'reference', reference, 'note', note));
  IF replay IS NOT NULL THEN RETURN replay; END IF;
  RETURN core.idem_finish('atm_refund_settle', request_id, atm.refund_settle(refund_id, method, reference, note));
END $$;
COMMENT ON FUNCTION api.atm_refund_settle(bigint, text, text, text, text) IS
  'Operator/admin: an ATM refund due was paid back. method world_app | bank_transfer (reference required: the transfer''s id) | cash | other; moves it from refund due to refunds paid and resolves its alert. REFUND_ALREADY_SETTLED (409) for a second settlement.';
GRANT EXECUTE ON FUNCTION api.atm_refund_settle(bigint, text, text, text, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.dispense_claim() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE k kiosk.kiosks := kiosk.require_kiosk_row();
BEGIN
  -- The claim is the kiosk's implicit heartbeat. Written at most once a second (decided
  -- from the row the identity lookup already read): the kiosk row is a hot row when
  -- several claimers share a login, and last_seen_at only needs to answer "seen in the
  -- last 2 minutes".
  IF k.last_seen_at IS NULL OR k.last_seen_at < now() - interval '1 second' THEN
    UPDATE kiosk.kiosks x SET last_seen_at = now()
     WHERE x.kiosk_id = k.kiosk_id AND (x.last_seen_at IS NULL OR x.last_seen_at < now() - interval '1 second');
  END IF;
  RETURN atm.claim(k.kiosk_id);
END $$;
COMMENT ON FUNCTION api.dispense_claim() IS
  'Kiosk: claim this kiosk''s next due dispense job (FOR UPDATE SKIP LOCKED) with a lease and a fresh claim_token; null when none is due.';
GRANT EXECUTE ON FUNCTION api.dispense_claim() TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.dispense_begin(job_id bigint, claim_token uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN atm.begin_dispense(job_id, kiosk.require_kiosk(), claim_token);
END $$;
COMMENT ON FUNCTION api.dispense_begin(bigint, uuid) IS
  'Kiosk: claimed -> dispensing. Commit this BEFORE running the motor. CONFLICT (409) on a stale token or state.';
GRANT EXECUTE ON FUNCTION api.dispense_begin(bigint, uuid) TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.dispense_progress(job_id bigint, claim_token uuid, coins_paid int) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN atm.progress(job_id, kiosk.require_kiosk(), claim_token, coins_paid);
END $$;
COMMENT ON FUNCTION api.dispense_progress(bigint, uuid, int) IS
  'Kiosk: heartbeat while dispensing; extends the lease. coins_paid is the job''s running total.';
GRANT EXECUTE ON FUNCTION api.dispense_progress(bigint, uuid, int) TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.dispense_finish(job_id bigint, claim_token uuid, coins_paid int,
                                               error_code text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN atm.finish(job_id, kiosk.require_kiosk(), claim_token, coins_paid, error_code);
END $$;
COMMENT ON FUNCTION api.dispense_finish(bigint, uuid, int, text) IS
  'Kiosk: report the hopper''s count (running total). All quarters -> completed; fewer -> retry_wait for the remainder with backoff, or failed + alert after max_attempts.';
GRANT EXECUTE ON FUNCTION api.dispense_finish(bigint, uuid, int, text) TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.dispense_report(job_id bigint, claim_token uuid, coins_paid int, base_paid int,
                                               error_code text, evidence jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN atm.report_payout(job_id, kiosk.require_kiosk(), claim_token, coins_paid, base_paid, error_code, evidence);
END $$;
COMMENT ON FUNCTION api.dispense_report(bigint, uuid, int, int, text, jsonb) IS
  'Kiosk agent: report an attempt''s hopper count (coins_paid, the running total; base_paid, the total when the claim began; evidence, a JSON object saying how it is known). Returns {outcome, job}: finished (the count applied as by dispense_finish), reconciled (the lease ran out under this claim: the count settles the job), nothing_paid (the claim is over and this attempt paid nothing; nothing changes). CONFLICT (409) when the count can no longer be applied by the kiosk.';
GRANT EXECUTE ON FUNCTION api.dispense_report(bigint, uuid, int, int, text, jsonb) TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.dispense_unknown(job_id bigint, claim_token uuid, evidence jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN atm.park_unknown(job_id, kiosk.require_kiosk(), claim_token, evidence);
END $$;
COMMENT ON FUNCTION api.dispense_unknown(bigint, uuid, jsonb) IS
  'Kiosk: what an interrupted payout paid cannot be established -> needs_reconciliation now, with this evidence (a JSON object) in the job history and an alert. Repeating it after the lease expired appends the evidence.';
GRANT EXECUTE ON FUNCTION api.dispense_unknown(bigint, uuid, jsonb) TO kiosk, kiosk_agent;

CREATE OR REPLACE FUNCTION api.dispense_reconcile(job_id bigint, coins_paid int, note text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE id text := kiosk.current_kiosk_id();
BEGIN
  IF id IS NULL AND core.request_role() NOT IN ('admin') AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user) THEN
    PERFORM core.raise_error('FORBIDDEN', 'only the job''s kiosk or an admin may reconcile');
  END IF;
  RETURN atm.reconcile(job_id, id, coins_paid, note);
END $$;
COMMENT ON FUNCTION api.dispense_reconcile(bigint, int, text) IS
  'Kiosk (own jobs) or admin: settle a needs_reconciliation job from the hopper''s counters: all paid -> completed, else the remainder is queued again.';
GRANT EXECUTE ON FUNCTION api.dispense_reconcile(bigint, int, text) TO kiosk, kiosk_agent, admin;

CREATE OR REPLACE FUNCTION api.dispense_expire_leases() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN atm.expire_leases();
END $$;
COMMENT ON FUNCTION api.dispense_expire_leases() IS
  'Kiosk agents and admins: apply lease expiry (claimed -> pending; dispensing -> needs_reconciliation). Safe to call any time.';
GRANT EXECUTE ON FUNCTION api.dispense_expire_leases() TO kiosk, kiosk_agent, admin;

CREATE OR REPLACE FUNCTION api.atm_kiosk_health(kiosk_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE me text := kiosk.current_kiosk_id(); r jsonb;
BEGIN
  IF me IS NOT NULL AND me <> kiosk_id THEN
    PERFORM core.raise_error('FORBIDDEN', 'a kiosk may only read its own health');
  END IF;
  IF me IS NOT NULL THEN
    SELECT to_jsonb(h) INTO r FROM atm.kiosk_health h WHERE h.kiosk_id = me;
  ELSE
    r := atm.kiosk_health_of(kiosk_id);
  END IF;
  IF r IS NULL THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no ATM kiosk %s', kiosk_id));
  END IF;
  RETURN r;
END $$;
COMMENT ON FUNCTION api.atm_kiosk_health(text) IS
  'Admin/operator (or the kiosk itself): last seen, pending / dispensing / reconciliation counts and status healthy | backlogged | offline | attention.';
GRANT EXECUTE ON FUNCTION api.atm_kiosk_health(text) TO kiosk, kiosk_agent, operator, admin;

-- The operator console's reads (sql/40_atm/85_reports.sql): an operator sees its company's
-- kiosks only.

CREATE OR REPLACE FUNCTION api.atm_kiosks() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT atm.kiosks_health()
$$;
COMMENT ON FUNCTION api.atm_kiosks() IS
  'Operator/admin (an operator: its company''s kiosks): every ATM kiosk''s health as atm_kiosk_health gives one (last seen, pending / dispensing / needs_reconciliation / failed jobs, open alerts, status healthy | backlogged | offline | attention), kiosks needing a person first.';
GRANT EXECUTE ON FUNCTION api.atm_kiosks() TO operator, admin;

CREATE OR REPLACE FUNCTION api.atm_jobs(status text DEFAULT NULL, kiosk_id text DEFAULT NULL, "limit" int DEFAULT 100)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  ELSIF status IS NOT NULL AND status NOT IN ('pending', 'claimed', 'dispensing', 'retry_wait', 'completed', 'failed',
                                              'needs_reconciliation') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'status must be a dispense job status, or null for the live queue',
                             jsonb_build_object('argument', 'status'));
  END IF;
  RETURN atm.jobs_of(status, kiosk_id, "limit");
END $$;
COMMENT ON FUNCTION api.atm_jobs(text, text, int) IS
  'Operator/admin (an operator: its company''s kiosks): dispense jobs oldest first, at most limit (1..1000): those in status, or with status null the live queue (every job not completed or failed); optionally of one kiosk (KIOSK_NOT_FOUND). Each as the kiosk''s job answers without its claim_token, plus the transaction''s amount and currency, created_at, updated_at. Settle a needs_reconciliation job with dispense_reconcile.';
GRANT EXECUTE ON FUNCTION api.atm_jobs(text, text, int) TO operator, admin;

CREATE OR REPLACE FUNCTION api.atm_transactions(day date DEFAULT NULL, kiosk_id text DEFAULT NULL, "limit" int DEFAULT 200)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF "limit" IS NULL OR "limit" NOT BETWEEN 1 AND 1000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'limit must be 1..1000', jsonb_build_object('argument', 'limit'));
  ELSIF NOT isfinite(day) THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'day must be a finite date', jsonb_build_object('argument', 'day'));
  END IF;
  RETURN atm.transactions_of(coalesce(day, (now() AT TIME ZONE 'UTC')::date), kiosk_id, "limit");
END $$;
COMMENT ON FUNCTION api.atm_transactions(date, text, int) IS
  'Operator/admin (an operator: its company''s kiosks): the ATM transactions created on one UTC day (default today), newest first, at most limit (1..1000), optionally of one kiosk (KIOSK_NOT_FOUND), each with its dispense progress; summary counts the whole day: transactions, paid, completed, amount and fees paid.';
GRANT EXECUTE ON FUNCTION api.atm_transactions(date, text, int) TO operator, admin;
