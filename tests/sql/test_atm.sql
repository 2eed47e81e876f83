-- ATM kiosks: transactions, pay, the dispense queue's every transition and refusal.
BEGIN;
SELECT plan(73);

CREATE FUNCTION pg_temp.adm(q text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('admin', '{"sub": "tap"}', q) $$;
CREATE FUNCTION pg_temp.k1(q text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('kiosk', '{"sub": "k", "kiosk_id": "tapk1"}', q) $$;
CREATE FUNCTION pg_temp.k2(q text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('kiosk', '{"sub": "k", "kiosk_id": "tapk2"}', q) $$;
CREATE FUNCTION pg_temp.pay(q text) RETURNS jsonb LANGUAGE sql AS $$ SELECT tap.call('payments', '{}', q) $$;
-- Pay transaction t (a jsonb from create) with a good payment; key and payment id vary by n.
CREATE FUNCTION pg_temp.pay_tx(t jsonb, n int, nullifier text DEFAULT '0xaaa') RETURNS jsonb LANGUAGE sql AS $$
  SELECT pg_temp.pay(format('SELECT api.atm_pay(%L, %L, %L, %L, %L, %s, %L)', t ->> 'id', nullifier, 'wp-' || n, 'mined',
                            t ->> 'payment_reference', (t ->> 'total')::bigint, 'pay-' || n)) $$;

-- Kiosks.
SELECT is(pg_temp.adm($$ SELECT api.atm_kiosk_register('tapk1', 'Tap One', 'Hall', NULL, 1000, 'kr1') $$) ->> 'fee_flat', '50',
          'fee defaults to 50 cents');
SELECT is(pg_temp.adm($$ SELECT api.atm_kiosk_register('tapk2', 'Tap Two', NULL, 25, 500, 'kr2') $$) ->> 'max_amount', '500', 'second kiosk');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.atm_kiosk_register('tapk3', 'X', NULL, NULL, 30, 'kr3') $q$) $$,
  'KL000', 'INVALID_REQUEST: max_amount must be a positive multiple of 25 up to 1000000 cents', 'max_amount a multiple of 25');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.atm_kiosk_register('Bad Id', 'X', NULL, NULL, 100, 'kr4') $q$) $$,
  'KL000', 'INVALID_REQUEST: kiosk_id must be 1-40 lower-case letters, digits or _', 'kiosk id format');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.atm_kiosk_register('tapk1', 'Again', NULL, NULL, 100, 'kr5') $q$) $$,
  'KL000', 'CONFLICT: kiosk tapk1 already exists', 'kiosk ids are unique');
SELECT throws_ok($$ SELECT pg_temp.k1($q$ SELECT api.atm_kiosk_register('tapk9', 'X', NULL, NULL, 100, 'kr6') $q$) $$,
  '42501', NULL, 'a kiosk cannot register kiosks');

-- Identity: the token's claim, never an argument; an unknown kiosk id in a token is refused.
SELECT is(pg_temp.k1('SELECT api.kiosk_heartbeat()') ->> 'kiosk_id', 'tapk1', 'heartbeat resolves the kiosk from the token');
SELECT throws_ok($$ SELECT tap.call('kiosk', '{"kiosk_id": "nope"}', 'SELECT api.kiosk_heartbeat()') $$,
  'KL000', 'FORBIDDEN: the token names no registered kiosk', 'unknown kiosk claim refused');
SELECT throws_ok($$ SELECT tap.call('staff', '{"kiosk_id": "tapk1"}', 'SELECT api.kiosk_heartbeat()') $$,
  '42501', NULL, 'a kiosk claim in a non-kiosk token does not make a kiosk');

-- Transactions.
CREATE TEMP TABLE tx AS SELECT pg_temp.k1($$ SELECT api.atm_transaction_create(500, 'tx1') $$) AS t;
SELECT is((SELECT t - 'id' - 'expires_at' - 'payment_reference' - 'pay_url' - 'kiosk_id' FROM tx),
          '{"amount": 500, "fee": 50, "total": 550, "quarters": 20, "currency": "USD", "status": "pending"}'::jsonb,
          'fee from the kiosk, quarters = amount / 25');
SELECT ok((SELECT t ->> 'pay_url' LIKE '%/pay/' || (t ->> 'id') FROM tx), 'pay_url ends with /pay/<id>');
SELECT ok((SELECT (t ->> 'expires_at')::timestamptz BETWEEN now() + interval '14 minutes' AND now() + interval '16 minutes' FROM tx),
          'expires in 15 minutes');
SELECT is(pg_temp.k1($$ SELECT api.atm_transaction_create(500, 'tx1') $$) ->> 'id', (SELECT t ->> 'id' FROM tx), 'create replays by key');
SELECT throws_ok($$ SELECT pg_temp.k1($q$ SELECT api.atm_transaction_create(30, 'tx2') $q$) $$,
  'KL000', 'INVALID_REQUEST: amount must be a positive multiple of 25 up to 1000 cents', 'not a multiple of 25');
SELECT throws_ok($$ SELECT pg_temp.k1($q$ SELECT api.atm_transaction_create(0, 'tx2') $q$) $$,
  'KL000', 'INVALID_REQUEST: amount must be a positive multiple of 25 up to 1000 cents', 'zero');
SELECT throws_ok($$ SELECT pg_temp.k1($q$ SELECT api.atm_transaction_create(1025, 'tx2') $q$) $$,
  'KL000', 'INVALID_REQUEST: amount must be a positive multiple of 25 up to 1000 cents', 'above the kiosk maximum');
SELECT throws_ok($$ SELECT tap.call('anon', '{}', $q$ SELECT api.atm_transaction_create(500, 'tx2') $q$) $$,
  '42501', NULL, 'anon cannot create transactions');
SELECT is(tap.call('anon', '{}', format('SELECT api.atm_transaction_status(%L)', (SELECT t ->> 'id' FROM tx))) ->> 'status',
          'pending', 'anyone with the id reads the status');
SELECT throws_ok($$ SELECT tap.call('anon', '{}', 'SELECT api.atm_transaction_status(gen_random_uuid())') $$,
  'KL000', NULL, 'unknown transaction id');

-- Pay: declines, then success with exactly one job.
SELECT is(pg_temp.pay(format('SELECT api.atm_pay(%L, %L, %L, %L, %L, %s, %L)', (SELECT t ->> 'id' FROM tx), '0xaaa', 'wp-x',
          'pending', (SELECT t ->> 'payment_reference' FROM tx), 550, 'payx1')) ->> 'code', 'PAYMENT_NOT_CONFIRMED', 'a pending payment declines');
SELECT is(pg_temp.pay(format('SELECT api.atm_pay(%L, %L, %L, %L, %L, %s, %L)', (SELECT t ->> 'id' FROM tx), '0xaaa', 'wp-x',
          'mined', 'someone-elses', 550, 'payx2')) ->> 'code', 'PAYMENT_NOT_CONFIRMED', 'a payment for another reference declines');
SELECT is(pg_temp.pay(format('SELECT api.atm_pay(%L, %L, %L, %L, %L, %s, %L)', (SELECT t ->> 'id' FROM tx), '0xaaa', 'wp-x',
          'mined', (SELECT t ->> 'payment_reference' FROM tx), 549, 'payx3')) ->> 'code', 'PAYMENT_NOT_CONFIRMED', 'paying too little declines');
SELECT throws_ok($$ SELECT pg_temp.pay($q$ SELECT api.atm_pay(gen_random_uuid(), '0xaaa', 'wp', 'mined', 'r', 1, 'payx4') $q$) $$,
  'KL000', NULL, 'unknown transaction raises');
SELECT throws_ok(format($$ SELECT pg_temp.pay(%L) $$, format('SELECT api.atm_pay(%L, %L, %L, %L, %L, %s, %L)',
  (SELECT t ->> 'id' FROM tx), 'not-hex', 'wp', 'mined', 'r', 550, 'payx5')),
  'KL000', 'INVALID_REQUEST: nullifier_hash must be a World ID nullifier: 0x and hex digits, less than the BN254 field order', 'nullifier format');
SELECT throws_ok($$ SELECT pg_temp.k1($q$ SELECT api.atm_pay(gen_random_uuid(), '0xaaa', 'wp', 'mined', 'r', 1, 'payx6') $q$) $$,
  '42501', NULL, 'a kiosk cannot mark its own transaction paid');
SELECT is(pg_temp.pay_tx((SELECT t FROM tx), 1) ->> 'status', 'paid', 'verified payment pays');
SELECT is((SELECT count(*) FROM atm.dispense_jobs WHERE transaction_id = (SELECT (t ->> 'id')::uuid FROM tx)), 1::bigint, 'one job');
SELECT is(pg_temp.pay_tx((SELECT t FROM tx), 2) ->> 'code', 'ALREADY_PAID', 'a second payment for it declines');
SELECT is((SELECT count(*) FROM atm.dispense_jobs WHERE transaction_id = (SELECT (t ->> 'id')::uuid FROM tx)), 1::bigint, 'still one job');

-- Expiry, payment reuse, the per-person limit.
CREATE TEMP TABLE tx2 AS SELECT pg_temp.k1($$ SELECT api.atm_transaction_create(100, 'tx3') $$) AS t;
UPDATE atm.transactions SET expires_at = now() - interval '1 hour' WHERE id = (SELECT (t ->> 'id')::uuid FROM tx2);  -- past the grace
SELECT is(pg_temp.pay_tx((SELECT t FROM tx2), 3) ->> 'code', 'EXPIRED', 'an expired transaction declines 410');
SELECT is((SELECT status FROM atm.transactions WHERE id = (SELECT (t ->> 'id')::uuid FROM tx2)), 'expired', 'and is marked expired');
CREATE TEMP TABLE tx3 AS SELECT pg_temp.k1($$ SELECT api.atm_transaction_create(100, 'tx4') $$) AS t;
SELECT is(pg_temp.pay(format('SELECT api.atm_pay(%L, %L, %L, %L, %L, %s, %L)', (SELECT t ->> 'id' FROM tx3), '0xbbb', 'wp-1',
          'mined', (SELECT t ->> 'payment_reference' FROM tx3), 150, 'pay-reuse')) ->> 'code', 'PAYMENT_ALREADY_USED',
          'a World App payment that already paid a transaction cannot pay another');
UPDATE core.settings SET value = '699' WHERE key = 'atm.person_daily_limit';
SELECT is(pg_temp.pay_tx((SELECT t FROM tx3), 4) ->> 'code', 'PERSON_LIMIT_REACHED', 'paid 550 today, 150 more is over a 699 limit');
UPDATE core.settings SET value = '20000' WHERE key = 'atm.person_daily_limit';
SELECT is(pg_temp.pay_tx((SELECT t FROM tx3), 5, '0xccc') ->> 'status', 'paid', 'another person pays');

-- The queue: claim, begin, progress, finish; stale tokens; other kiosks.
CREATE TEMP TABLE j AS SELECT pg_temp.k1('SELECT api.dispense_claim()') AS c;
SELECT is((SELECT c ->> 'status' FROM j), 'claimed', 'claim takes the oldest due job');
SELECT is((SELECT c ->> 'remaining' FROM j), '20', 'and says how many coins remain');
SELECT is(pg_temp.k2('SELECT api.dispense_claim()'), NULL, 'another kiosk sees none of these jobs');
SELECT throws_ok(format($$ SELECT pg_temp.k2(%L) $$, format('SELECT api.dispense_begin(%s, %L)', (SELECT c ->> 'job_id' FROM j), (SELECT c ->> 'claim_token' FROM j))),
  'KL000', NULL, 'another kiosk cannot begin it even with the token');
SELECT throws_ok(format($$ SELECT pg_temp.k1(%L) $$, format('SELECT api.dispense_begin(%s, %L)', (SELECT c ->> 'job_id' FROM j), gen_random_uuid())),
  'KL000', NULL, 'a stale token is a CONFLICT');
SELECT throws_ok(format($$ SELECT pg_temp.k1(%L) $$, format('SELECT api.dispense_finish(%s, %L, 20)', (SELECT c ->> 'job_id' FROM j), (SELECT c ->> 'claim_token' FROM j))),
  'KL000', NULL, 'finish before begin is a CONFLICT');
SELECT is(pg_temp.k1(format('SELECT api.dispense_begin(%s, %L)', (SELECT c ->> 'job_id' FROM j), (SELECT c ->> 'claim_token' FROM j))) ->> 'status',
          'dispensing', 'begin: claimed -> dispensing');
SELECT is(pg_temp.k1(format('SELECT api.dispense_progress(%s, %L, 7)', (SELECT c ->> 'job_id' FROM j), (SELECT c ->> 'claim_token' FROM j))) ->> 'coins_paid',
          '7', 'progress records coins so far');
SELECT throws_ok(format($$ SELECT pg_temp.k1(%L) $$, format('SELECT api.dispense_progress(%s, %L, 6)', (SELECT c ->> 'job_id' FROM j), (SELECT c ->> 'claim_token' FROM j))),
  'KL000', 'INVALID_REQUEST: coins_paid must be 7..20 (the job''s running total)', 'coins never go backwards');
SELECT is(pg_temp.k1(format('SELECT api.dispense_finish(%s, %L, 12, %L)', (SELECT c ->> 'job_id' FROM j), (SELECT c ->> 'claim_token' FROM j), 'jam')) ->> 'status',
          'retry_wait', 'a short payout waits to retry');
SELECT is(pg_temp.k1(format('SELECT api.dispense_finish(%s, %L, 12, %L)', (SELECT c ->> 'job_id' FROM j), (SELECT c ->> 'claim_token' FROM j), 'jam')) ->> 'status',
          'retry_wait', 'repeating the same finish answers the same state');
SELECT is(pg_temp.k1('SELECT api.dispense_claim()') ->> 'transaction_id', (SELECT t ->> 'id' FROM tx3),
          'during the backoff the next due job is claimed instead');
UPDATE atm.dispense_jobs SET due_at = now() - interval '1 second' WHERE id = (SELECT (c ->> 'job_id')::bigint FROM j);
CREATE TEMP TABLE j2 AS SELECT pg_temp.k1('SELECT api.dispense_claim()') AS c;
SELECT is((SELECT c ->> 'remaining' FROM j2), '8', 'the retry pays only the remainder');
SELECT is((SELECT c ->> 'attempts' FROM j2), '2', 'second attempt');

-- Leases: claimed past its lease goes back; dispensing past its lease needs reconciliation.
UPDATE atm.dispense_jobs SET lease_until = now() - interval '1 second' WHERE id = (SELECT (c ->> 'job_id')::bigint FROM j2);
SELECT is(pg_temp.k1('SELECT api.dispense_expire_leases()'), '{"requeued": 1, "needs_reconciliation": 0}'::jsonb, 'claimed lease expiry requeues');
CREATE TEMP TABLE j3 AS SELECT pg_temp.k1('SELECT api.dispense_claim()') AS c;
SELECT lives_ok(format($$ SELECT pg_temp.k1(%L) $$, format('SELECT api.dispense_begin(%s, %L)', (SELECT c ->> 'job_id' FROM j3), (SELECT c ->> 'claim_token' FROM j3))),
  'begin again');
UPDATE atm.dispense_jobs SET lease_until = now() - interval '1 second' WHERE id = (SELECT (c ->> 'job_id')::bigint FROM j3);
SELECT is(pg_temp.adm('SELECT api.dispense_expire_leases()'), '{"requeued": 0, "needs_reconciliation": 1}'::jsonb,
          'dispensing lease expiry is never retried by itself');
SELECT is(pg_temp.k1(format('SELECT api.dispense_reconcile(%s, 20, %L)', (SELECT c ->> 'job_id' FROM j3), 'hopper counter shows 8 paid')) ->> 'status',
          'completed', 'reconciling from the hopper counters completes it');

-- The agent's one report (dispense_report): SQL decides what the count settles.
-- Report job c's count as kiosk tapk1 (the claim's own token unless another is given).
CREATE FUNCTION pg_temp.report(c jsonb, coins int, base int, evidence jsonb DEFAULT '{"how": "hopper count"}',
                               token text DEFAULT NULL) RETURNS jsonb LANGUAGE sql AS $$
  SELECT pg_temp.k1(format('SELECT api.dispense_report(%s, %L, %s, %s, %L, %L)', c ->> 'job_id',
                           coalesce(token, c ->> 'claim_token'), coins, base, 'jam', evidence)) $$;
CREATE FUNCTION pg_temp.new_job(n int) RETURNS void LANGUAGE sql AS $$
  SELECT pg_temp.pay_tx(pg_temp.k1(format('SELECT api.atm_transaction_create(100, %L)', 'rep' || n)), 100 + n, '0xddd') $$;
DO $$ BEGIN PERFORM pg_temp.new_job(n) FROM generate_series(1, 4) n; END $$;
CREATE TEMP TABLE ra AS SELECT pg_temp.k1('SELECT api.dispense_claim()') AS c;   -- 4 quarters each
CREATE TEMP TABLE rb AS SELECT pg_temp.k1('SELECT api.dispense_claim()') AS c;
CREATE TEMP TABLE rc AS SELECT pg_temp.k1('SELECT api.dispense_claim()') AS c;
CREATE TEMP TABLE rd AS SELECT pg_temp.k1('SELECT api.dispense_claim()') AS c;
CREATE FUNCTION pg_temp.begin(c jsonb) RETURNS void LANGUAGE sql AS $$
  SELECT pg_temp.k1(format('SELECT api.dispense_begin(%s, %L)', c ->> 'job_id', c ->> 'claim_token')) $$;
DO $$ BEGIN PERFORM pg_temp.begin(x.c) FROM (SELECT c FROM ra UNION ALL SELECT c FROM rb UNION ALL SELECT c FROM rd) x; END $$;

SELECT is((SELECT pg_temp.report(c, 3, 0) FROM ra) - 'job', '{"outcome": "finished"}'::jsonb,
          'report under a live claim: finished');
SELECT is((SELECT pg_temp.report(c, 3, 0) -> 'job' ->> 'status' FROM ra), 'retry_wait',
          'the same report again (a lost answer): finished, the job as it is');
SELECT throws_like($$ SELECT pg_temp.report(c, 4, 0) FROM ra $$,
  'CONFLICT: job % is retry_wait: the kiosk can no longer apply this claim''s count (coins paid: 4); a person settles it',
  'another count under a claim that is over is refused');
SELECT throws_ok($$ SELECT tap.call('kiosk', '{"kiosk_id": "tapk2"}', format('SELECT api.dispense_report(%s, %L, 0, 0, NULL, %L)',
                                    c ->> 'job_id', c ->> 'claim_token', '{}')) FROM rc $$,
  'KL000', NULL, 'another kiosk cannot report on the job');
SELECT throws_like($$ SELECT tap.call('kiosk', '{"kiosk_id": "tapk2"}', format('SELECT api.dispense_report(%s, %L, 0, 0, NULL, %L)',
                                      c ->> 'job_id', c ->> 'claim_token', '{}')) FROM rc $$,
  'JOB_NOT_FOUND: %', 'as if it did not exist');

UPDATE atm.dispense_jobs SET lease_until = now() - interval '1 second' WHERE id = (SELECT (c ->> 'job_id')::bigint FROM rb);
SELECT is(pg_temp.adm('SELECT api.dispense_expire_leases()') ->> 'needs_reconciliation', '1', 'a lease runs out mid-payout');
SELECT is((SELECT pg_temp.report(c, 2, 0, '{"how": "event counter advanced by one"}') FROM rb) ->> 'outcome', 'reconciled',
          'the count of the claim whose lease ran out reconciles the job');
SELECT is((SELECT status || ' ' || coins_paid FROM atm.dispense_jobs WHERE id = (SELECT (c ->> 'job_id')::bigint FROM rb)),
          'retry_wait 2', 'with the reported count: the remainder is queued again');
SELECT ok((SELECT note LIKE 'reconciled: dispenser agent, hopper count: %event counter advanced by one%' FROM atm.job_events
            WHERE job_id = (SELECT (c ->> 'job_id')::bigint FROM rb) ORDER BY id DESC LIMIT 1), 'the evidence is the note');
SELECT is((SELECT count(*) FROM atm.alerts WHERE job_id = (SELECT (c ->> 'job_id')::bigint FROM rb) AND resolved_at IS NULL),
          0::bigint, 'and the alert is resolved');

SELECT is((SELECT pg_temp.report(c, 0, 0) FROM rc) - 'job', '{"outcome": "nothing_paid"}'::jsonb,
          'a claim that never began, nothing paid: nothing_paid');
SELECT is((SELECT status FROM atm.dispense_jobs WHERE id = (SELECT (c ->> 'job_id')::bigint FROM rc)), 'claimed', 'and nothing changes');
SELECT throws_like($$ SELECT pg_temp.report(c, 1, 0) FROM rc $$, 'CONFLICT: job % is claimed: %',
                   'coins under a claim that never began are refused');
SELECT throws_ok($$ SELECT pg_temp.report(c, 1, 2) FROM rc $$, 'KL000',
  'INVALID_REQUEST: base_paid must be 0..coins_paid (the job''s running total when the claim began)', 'base_paid at most coins_paid');
SELECT throws_ok($$ SELECT pg_temp.report(c, 0, 0, '[]') FROM rc $$, 'KL000',
  'INVALID_REQUEST: evidence must be a JSON object of at most 8000 characters', 'evidence is an object');

DO $$ BEGIN
  PERFORM pg_temp.k1(format('SELECT api.dispense_unknown(%s, %L, %L)', c ->> 'job_id', c ->> 'claim_token', '{"why": "counter reset"}'))
     FROM rd;
END $$;
SELECT throws_like($$ SELECT pg_temp.report(c, 2, 0) FROM rd $$, 'CONFLICT: job % is needs_reconciliation: %',
                   'a payout the kiosk declared unknown is not the kiosk''s to reconcile');
SELECT is((SELECT status FROM atm.dispense_jobs WHERE id = (SELECT (c ->> 'job_id')::bigint FROM rd)), 'needs_reconciliation',
          'it waits for a person');

-- The job rb reconciled is claimed again, and that claim's lease runs out mid-payout too:
-- the first claim's count cannot settle what the second claim's payout paid.
CREATE TEMP TABLE rb2 AS SELECT pg_temp.k1('SELECT api.dispense_claim()') AS c;
SELECT is((SELECT c ->> 'job_id' FROM rb2), (SELECT c ->> 'job_id' FROM rb), 'the reconciled job is claimed again');
DO $$ BEGIN PERFORM pg_temp.begin(c) FROM rb2; END $$;
UPDATE atm.dispense_jobs SET lease_until = now() - interval '1 second' WHERE id = (SELECT (c ->> 'job_id')::bigint FROM rb2);
DO $$ BEGIN PERFORM atm.expire_leases(); END $$;
SELECT throws_like($$ SELECT pg_temp.report(c, 2, 0) FROM rb $$, 'CONFLICT: job % is needs_reconciliation: %',
                   'a count from an earlier claim never reconciles a later one');
SELECT is((SELECT pg_temp.report(c, 3, 2) FROM rb2) ->> 'outcome', 'reconciled', 'the later claim''s own count does');

SELECT is_empty('SELECT * FROM ledger.imbalances', 'transfers sum to zero');
SELECT * FROM finish();
ROLLBACK;
