-- atm: the dispense job queue. A coin payout is a physical side effect and NOT
-- idempotent: a job is committed `dispensing` before the motor runs, every change needs
-- the job id + current claim token + expected state, an expired `dispensing` lease goes
-- to needs_reconciliation (never retried by itself), and a retry pays only what the
-- hopper reported unpaid. coins_paid is always the job's running total.

-- LANGUAGE sql and STABLE (jsonb_build_object is): inlined into the caller's statement,
-- e.g. the claim's RETURNING, instead of a PL/pgSQL call per answer. Pass it a row
-- variable or column, never a call (`atm.job_json(atm.job_transition(...))`): j is used
-- many times, so PostgreSQL does not inline it over a costly argument, and a SQL function
-- that is not inlined is parsed and planned again on every call (~300k instructions).
CREATE OR REPLACE FUNCTION atm.job_json(j atm.dispense_jobs) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('job_id', j.id, 'transaction_id', j.transaction_id, 'kiosk_id', j.kiosk_id,
    'quarters', j.quarters, 'coins_paid', j.coins_paid, 'remaining', j.quarters - j.coins_paid,
    'status', j.status, 'attempts', j.attempts, 'max_attempts', j.max_attempts,
    'claim_token', j.claim_token, 'lease_until', j.lease_until, 'due_at', j.due_at, 'last_error', j.last_error)
$$;

-- Every state change goes through here: guarded update (id + token + expected state),
-- history row, and the coins that became paid move from the kiosk's float to dispensed.
CREATE OR REPLACE FUNCTION atm.job_transition(job atm.dispense_jobs, new_status text, coins int, note text,
                                              due timestamptz DEFAULT NULL, lease timestamptz DEFAULT NULL)
RETURNS atm.dispense_jobs LANGUAGE plpgsql AS $$
DECLARE
  updated atm.dispense_jobs;
  t       atm.transactions;
BEGIN
  UPDATE atm.dispense_jobs j
     SET status = new_status, coins_paid = coins, last_error = coalesce(note, j.last_error),
         due_at = coalesce(due, j.due_at), lease_until = lease, updated_at = now(),
         claim_token = CASE WHEN new_status = 'pending' THEN NULL ELSE j.claim_token END
   WHERE j.id = job.id AND j.status = job.status AND j.claim_token IS NOT DISTINCT FROM job.claim_token
  RETURNING * INTO updated;
  IF updated.id IS NULL THEN
    PERFORM core.raise_error('CONFLICT', format('job %s changed under us', job.id));
  END IF;
  INSERT INTO atm.job_events (job_id, old_status, new_status, coins_paid, note, actor)
  VALUES (job.id, job.status, new_status, coins, note, core.actor());
  IF coins > job.coins_paid THEN
    SELECT * INTO t FROM atm.transactions x WHERE x.id = job.transaction_id;
    PERFORM ledger.post_transfer('atm_coins_dispensed',
      ARRAY[ledger.house_account('atm_coin_float', job.kiosk_id, t.currency),
            ledger.house_account('atm_coins_dispensed', job.kiosk_id, t.currency)],
      ARRAY[-(coins - job.coins_paid) * atm.coin_cents(), (coins - job.coins_paid) * atm.coin_cents()], NULL,
      jsonb_build_object('job_id', job.id, 'coins', coins - job.coins_paid));
  END IF;
  IF new_status IN ('completed', 'failed') THEN
    UPDATE atm.transactions x SET status = new_status WHERE x.id = job.transaction_id AND x.status = 'paid';
  END IF;
  RETURN updated;
END $$;

-- The next due job of this kiosk, claimed in one statement; SKIP LOCKED lets many
-- claimers run without waiting on each other or taking the same job. The queue's hot
-- path: the answer is built in the claim's RETURNING and nothing else is nested.
CREATE OR REPLACE FUNCTION atm.claim(kiosk_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  answer  jsonb;
  job_id  bigint;
  attempt int;
  coins   int;
  lease   timestamptz;
BEGIN
  UPDATE atm.dispense_jobs d
     SET status = 'claimed', claim_token = gen_random_uuid(), attempts = d.attempts + 1,
         lease_until = now() + make_interval(secs => (SELECT s.value FROM core.settings s
                                                       WHERE s.key = 'atm.lease_seconds')::int),
         updated_at = now()
   WHERE d.id = (SELECT x.id FROM atm.dispense_jobs x
                  WHERE x.kiosk_id = claim.kiosk_id AND x.status IN ('pending', 'retry_wait') AND x.due_at <= now()
                  ORDER BY x.due_at, x.id
                  LIMIT 1
                    FOR UPDATE SKIP LOCKED)
  RETURNING d.id, d.attempts::int, d.coins_paid, d.lease_until, atm.job_json(d) INTO job_id, attempt, coins, lease, answer;
  IF answer IS NULL THEN
    RETURN NULL;
  ELSIF lease IS NULL THEN  -- a claim without a lease would never expire
    PERFORM core.raise_error('SERVER_ERROR', 'missing setting atm.lease_seconds');
  END IF;
  INSERT INTO atm.job_events (job_id, old_status, new_status, coins_paid, actor)
  VALUES (job_id, CASE WHEN attempt = 1 THEN 'pending' ELSE 'retry_wait' END, 'claimed', coins, core.actor());
  RETURN answer;
END $$;

-- The job, locked, if it belongs to this kiosk (admin: any kiosk) and carries this token.
-- Every kiosk call must carry the claim's token; only reconciliation, which settles a job
-- whose claim is over, goes without.
CREATE OR REPLACE FUNCTION atm.lock_job(job_id bigint, kiosk_id text, claim_token uuid,
                                        token_required boolean DEFAULT true) RETURNS atm.dispense_jobs
LANGUAGE plpgsql AS $$
DECLARE j atm.dispense_jobs;
BEGIN
  IF token_required AND claim_token IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'claim_token is required', jsonb_build_object('argument', 'claim_token'));
  END IF;
  SELECT * INTO j FROM atm.dispense_jobs x WHERE x.id = job_id FOR UPDATE;
  IF NOT FOUND OR (lock_job.kiosk_id IS NOT NULL AND j.kiosk_id <> lock_job.kiosk_id) THEN
    PERFORM core.raise_error('JOB_NOT_FOUND', format('job %s does not exist for this kiosk', job_id));
  END IF;
  IF claim_token IS NOT NULL AND j.claim_token IS DISTINCT FROM claim_token THEN
    PERFORM core.raise_error('CONFLICT', format('claim token for job %s is stale', job_id),
                             jsonb_build_object('job_id', job_id, 'status', j.status));
  END IF;
  RETURN j;
END $$;

-- coins_paid is the job's running total: never below what was already paid, never above
-- the quarters bought.
CREATE OR REPLACE FUNCTION atm.coins_valid(j atm.dispense_jobs, coins int) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN coins IS NOT NULL AND coins BETWEEN j.coins_paid AND j.quarters;
END $$;

CREATE OR REPLACE FUNCTION atm.coins_invalid(j atm.dispense_jobs) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM core.raise_error('INVALID_REQUEST', format('coins_paid must be %s..%s (the job''s running total)', j.coins_paid, j.quarters),
                             jsonb_build_object('argument', 'coins_paid'));
END $$;

CREATE OR REPLACE FUNCTION atm.lease_end() RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN now() + make_interval(secs => (core.setting('atm.lease_seconds'))::int);
END $$;

-- claimed -> dispensing, committed before the motor runs. Repeating it with the same
-- token (a lost answer) returns the job unchanged.
CREATE OR REPLACE FUNCTION atm.begin_dispense(job_id bigint, kiosk_id text, claim_token uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE j atm.dispense_jobs := atm.lock_job(job_id, kiosk_id, claim_token);
BEGIN
  IF j.status = 'dispensing' THEN
    RETURN atm.job_json(j);
  ELSIF j.status <> 'claimed' THEN
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not claimed', job_id, j.status));
  ELSIF j.lease_until < now() THEN
    PERFORM core.raise_error('CONFLICT', format('the claim on job %s expired', job_id));
  END IF;
  j := atm.job_transition(j, 'dispensing', j.coins_paid, NULL, NULL, atm.lease_end());
  RETURN atm.job_json(j);
END $$;

-- Heartbeat while dispensing: extends the lease, records coins paid so far.
CREATE OR REPLACE FUNCTION atm.progress(job_id bigint, kiosk_id text, claim_token uuid, coins_paid int) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE j atm.dispense_jobs := atm.lock_job(job_id, kiosk_id, claim_token);
BEGIN
  IF j.status <> 'dispensing' THEN
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not dispensing', job_id, j.status));
  ELSIF NOT atm.coins_valid(j, coins_paid) THEN
    PERFORM atm.coins_invalid(j);
  END IF;
  PERFORM kiosk.touch(j.kiosk_id);
  UPDATE atm.dispense_jobs x SET lease_until = atm.lease_end(), updated_at = now() WHERE x.id = j.id;
  IF coins_paid > j.coins_paid THEN
    j := atm.job_transition(j, 'dispensing', coins_paid, NULL, NULL, atm.lease_end());
  ELSE
    SELECT * INTO j FROM atm.dispense_jobs x WHERE x.id = job_id;
  END IF;
  RETURN atm.job_json(j);
END $$;

-- A finish that was already applied (its answer lost, the report sent again): same token
-- (the caller checked), the job moved on from dispensing with this very count.
CREATE OR REPLACE FUNCTION atm.finish_applied(j atm.dispense_jobs, coins int) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT j.status IN ('completed', 'retry_wait', 'failed') AND j.coins_paid = coins
$$;

-- The hopper's count after a payout. All coins: completed. Fewer: retry_wait for the
-- remainder with exponential backoff, or failed (+ alert, NOTIFY atm_ops) after
-- max_attempts. A repeat of an already applied finish (same token, same count) answers
-- the job as it is; anything else stale is a CONFLICT.
CREATE OR REPLACE FUNCTION atm.finish(job_id bigint, kiosk_id text, claim_token uuid, coins_paid int, error_code text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  j     atm.dispense_jobs := atm.lock_job(job_id, kiosk_id, claim_token);
  delay interval;
BEGIN
  IF j.status <> 'dispensing' THEN
    IF atm.finish_applied(j, coins_paid) THEN
      RETURN atm.job_json(j);
    END IF;
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not dispensing', job_id, j.status),
                             jsonb_build_object('job_id', job_id, 'status', j.status));
  ELSIF NOT atm.coins_valid(j, coins_paid) THEN
    PERFORM atm.coins_invalid(j);
  END IF;
  IF coins_paid = j.quarters THEN
    j := atm.job_transition(j, 'completed', coins_paid, NULL);
    RETURN atm.job_json(j);
  ELSIF j.attempts >= j.max_attempts THEN
    j := atm.job_transition(j, 'failed', coins_paid, coalesce(error_code, 'short_payout'));
    INSERT INTO atm.alerts (job_id, kind, message)
    VALUES (j.id, 'dispense_failed', format('job %s paid %s of %s quarters after %s attempts (%s)',
                                            j.id, coins_paid, j.quarters, j.attempts, coalesce(error_code, 'short_payout')));
    PERFORM pg_notify('atm_ops', j.id::text);
    RETURN atm.job_json(j);
  END IF;
  delay := make_interval(secs => (core.setting('atm.retry_base_seconds'))::int * power(2, j.attempts - 1));
  j := atm.job_transition(j, 'retry_wait', coins_paid, coalesce(error_code, 'short_payout'), now() + delay);
  RETURN atm.job_json(j);
END $$;

-- dispensing -> needs_reconciliation: what the payout paid is not known. A person settles
-- it (atm.reconcile), so the ops channel hears of it and an alert stays open until then.
CREATE OR REPLACE FUNCTION atm.strand(j atm.dispense_jobs, note text, alert text) RETURNS atm.dispense_jobs
LANGUAGE plpgsql AS $$
BEGIN
  j := atm.job_transition(j, 'needs_reconciliation', j.coins_paid, note);
  INSERT INTO atm.alerts (job_id, kind, message) VALUES (j.id, 'needs_reconciliation', alert);
  PERFORM pg_notify('atm_ops', j.id::text);
  RETURN j;
END $$;

-- What a kiosk sends to say how it knows what its hopper paid: kept in the job history
-- for the person who reads it, so an object of bounded size.
CREATE OR REPLACE FUNCTION atm.check_evidence(evidence jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF evidence IS NULL OR jsonb_typeof(evidence) <> 'object' OR length(evidence::text) > 8000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'evidence must be a JSON object of at most 8000 characters',
                             jsonb_build_object('argument', 'evidence'));
  END IF;
END $$;

-- The agent cannot establish what an interrupted payout paid (the hopper lost its
-- counters, say): dispensing -> needs_reconciliation now, with the agent's evidence on
-- the history row and an alert, instead of waiting for the lease to run out with the
-- evidence left on the kiosk. If the lease already ran out, the evidence is appended.
-- Never pays, never guesses: reconcile settles it.
CREATE OR REPLACE FUNCTION atm.park_unknown(job_id bigint, kiosk_id text, claim_token uuid, evidence jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  j    atm.dispense_jobs;
  note text;
BEGIN
  PERFORM atm.check_evidence(evidence);
  j := atm.lock_job(job_id, kiosk_id, claim_token);
  note := 'payout unknown, evidence from the kiosk: ' || evidence::text;  -- atm.report_payout looks for this prefix
  IF j.status = 'needs_reconciliation' THEN
    INSERT INTO atm.job_events (job_id, old_status, new_status, coins_paid, note, actor)
    VALUES (j.id, j.status, j.status, j.coins_paid, note, core.actor());
    RETURN atm.job_json(j);
  ELSIF j.status <> 'dispensing' THEN
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not dispensing', job_id, j.status),
                             jsonb_build_object('job_id', job_id, 'status', j.status));
  END IF;
  j := atm.strand(j, note, format('job %s: the kiosk cannot tell what its payout paid (%s of %s quarters known)',
                                  j.id, j.coins_paid, j.quarters));
  RETURN atm.job_json(j);
END $$;

-- Settle a needs_reconciliation job with the coins that came out (a person who read the
-- hopper's counters, or the agent's own count through atm.report_payout): all paid ->
-- completed; otherwise the remainder is queued again.
CREATE OR REPLACE FUNCTION atm.reconcile(job_id bigint, kiosk_id text, coins_paid int, note text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE j atm.dispense_jobs := atm.lock_job(job_id, kiosk_id, NULL, token_required => false);
BEGIN
  IF j.status <> 'needs_reconciliation' THEN
    PERFORM core.raise_error('CONFLICT', format('job %s is %s, not needs_reconciliation', job_id, j.status));
  ELSIF NOT atm.coins_valid(j, coins_paid) THEN
    PERFORM atm.coins_invalid(j);
  ELSIF note IS NULL OR length(btrim(note)) = 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'note must say how the count was established',
                             jsonb_build_object('argument', 'note'));
  END IF;
  UPDATE atm.alerts a SET resolved_at = now() WHERE a.job_id = j.id AND a.resolved_at IS NULL;
  IF coins_paid = j.quarters THEN
    j := atm.job_transition(j, 'completed', coins_paid, 'reconciled: ' || note);
  ELSE
    j := atm.job_transition(j, 'retry_wait', coins_paid, 'reconciled: ' || note, now());
  END IF;
  RETURN atm.job_json(j);
END $$;

-- The agent's report of one attempt, from its journal: the hopper's count (coins_paid, the
-- job's running total) and what the job had paid when that claim began (base_paid). What
-- the count settles is decided here, by the job's state and whether the claim is still the
-- reporter's:
--   finished      the claim holds (dispensing under this token), or this very count was
--                 already applied (a lost answer): atm.finish.
--   reconciled    the lease ran out under this claim before the report got through, and
--                 the kiosk had not declared the payout unknown: its count settles the job
--                 (atm.reconcile), its evidence is the note.
--   nothing_paid  the claim is over (never begun, requeued, claimed again) and this attempt
--                 paid no coin: nothing to settle, nothing changes.
-- Anything else is a CONFLICT: coins paid under a claim the kiosk no longer holds are not
-- the kiosk's to apply; the agent keeps the count in its journal for a person.
CREATE OR REPLACE FUNCTION atm.report_payout(job_id bigint, kiosk_id text, claim_token uuid, coins_paid int,
                                             base_paid int, error_code text, evidence jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  j    atm.dispense_jobs;
  ours boolean;
BEGIN
  PERFORM atm.check_evidence(evidence);
  IF claim_token IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'claim_token is required', jsonb_build_object('argument', 'claim_token'));
  ELSIF coins_paid IS NULL OR base_paid IS NULL OR base_paid < 0 OR base_paid > coins_paid THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'base_paid must be 0..coins_paid (the job''s running total when the claim began)',
                             jsonb_build_object('argument', 'base_paid'));
  END IF;
  -- This kiosk's job, whatever its token: a stale token is an answer here, not an error.
  j := atm.lock_job(job_id, kiosk_id, NULL, token_required => false);
  ours := j.claim_token IS NOT DISTINCT FROM claim_token;
  IF ours AND j.status = 'needs_reconciliation'
     -- The token is this claim's, so the stranding was either its lease running out or the
     -- kiosk's own dispense_unknown; only the first is the kiosk's to settle.
     AND NOT EXISTS (SELECT 1 FROM atm.job_events e
                      WHERE e.job_id = j.id AND e.note LIKE 'payout unknown%'
                        AND e.id > (SELECT max(c.id) FROM atm.job_events c
                                     WHERE c.job_id = j.id AND c.new_status = 'claimed')) THEN
    RETURN jsonb_build_object('outcome', 'reconciled',
      'job', atm.reconcile(j.id, kiosk_id, coins_paid, 'dispenser agent, hopper count: ' || evidence::text));
  ELSIF ours AND (j.status = 'dispensing' OR atm.finish_applied(j, coins_paid)) THEN
    RETURN jsonb_build_object('outcome', 'finished', 'job', atm.finish(j.id, kiosk_id, claim_token, coins_paid, error_code));
  ELSIF coins_paid <> base_paid THEN
    PERFORM core.raise_error('CONFLICT',
      format('job %s is %s: the kiosk can no longer apply this claim''s count (coins paid: %s); a person settles it',
             j.id, j.status, coins_paid - base_paid),
      jsonb_build_object('job_id', j.id, 'status', j.status));
  END IF;
  RETURN jsonb_build_object('outcome', 'nothing_paid', 'job', atm.job_json(j));
END $$;

-- Lease expiry (agent loop, any caller, pg_cron): claimed past its lease goes back to
-- pending - the motor never started; dispensing past its lease needs reconciliation -
-- nobody knows how many coins came out, so it is never retried by itself.
CREATE OR REPLACE FUNCTION atm.expire_leases() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  j         atm.dispense_jobs;
  requeued  int := 0;
  stranded  int := 0;
BEGIN
  FOR j IN SELECT * FROM atm.dispense_jobs x
            WHERE x.status IN ('claimed', 'dispensing') AND x.lease_until < now()
            ORDER BY x.id FOR UPDATE SKIP LOCKED LOOP
    IF j.status = 'claimed' THEN
      PERFORM atm.job_transition(j, 'pending', j.coins_paid, 'lease expired before dispensing', now());
      UPDATE atm.dispense_jobs x SET attempts = greatest(x.attempts - 1, 0) WHERE x.id = j.id;
      requeued := requeued + 1;
    ELSE
      PERFORM atm.strand(j, 'lease expired while dispensing',
                         format('job %s stopped reporting mid-payout at %s of %s quarters', j.id, j.coins_paid, j.quarters));
      stranded := stranded + 1;
    END IF;
  END LOOP;
  RETURN jsonb_build_object('requeued', requeued, 'needs_reconciliation', stranded);
END $$;

-- DBA: re-queue failed jobs older than older_than. Only `failed` qualifies - its coin
-- count came from the hopper, so paying the remainder is safe; needs_reconciliation
-- never does. Returns how many.
CREATE OR REPLACE FUNCTION atm.retry_failed_jobs(older_than interval DEFAULT '0') RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  j atm.dispense_jobs;
  n int := 0;
BEGIN
  FOR j IN SELECT * FROM atm.dispense_jobs x WHERE x.status = 'failed' AND x.updated_at <= now() - older_than
            ORDER BY x.id FOR UPDATE SKIP LOCKED LOOP
    PERFORM atm.job_transition(j, 'retry_wait', j.coins_paid, 'retried by operator', now());
    UPDATE atm.dispense_jobs x SET attempts = 0 WHERE x.id = j.id;
    UPDATE atm.transactions t SET status = 'paid' WHERE t.id = j.transaction_id AND t.status = 'failed';
    UPDATE atm.alerts a SET resolved_at = now() WHERE a.job_id = j.id AND a.resolved_at IS NULL;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
