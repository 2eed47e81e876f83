-- upkeep: the maintenance jobs (table upkeep.jobs: name, SQL, how often) run on a schedule
-- with no person involved, by pg_cron where the server has it (20_pg_cron.sql) and else by
-- `kioskledger scheduler`. Both only ever CALL upkeep.run_due(); every run is a row of
-- upkeep.runs, and a failing job raises an upkeep alert that its next success clears.

-- Log one finished run of a job (SQL or host) and turn its outcome into the alert: a
-- failure raises (or refreshes) upkeep/job_failed, a success clears it. `details` of a
-- failure carry at least its `error`.
CREATE OR REPLACE FUNCTION upkeep.record_run(job_name text, runner text, started timestamptz, ok boolean,
                                             result jsonb, error text, details jsonb DEFAULT '{}')
RETURNS upkeep.runs LANGUAGE plpgsql AS $$
DECLARE run upkeep.runs;
BEGIN
  INSERT INTO upkeep.runs (job, runner, started_at, finished_at, duration_ms, ok, result, error)
  VALUES (job_name, coalesce(runner, core.actor()), started, clock_timestamp(),
          round((extract(epoch FROM clock_timestamp() - started) * 1000)::numeric, 3), ok, result,
          CASE WHEN NOT ok THEN error END)
  RETURNING * INTO run;
  IF ok THEN
    UPDATE upkeep.jobs j SET last_ok_at = run.finished_at WHERE j.name = job_name;
    PERFORM core.alert_clear('upkeep', 'job_failed', job_name, 'system:upkeep');
  ELSE
    PERFORM core.alert_raise('upkeep', 'job_failed', job_name, NULL, 'critical',
                             left(format('Upkeep job %s failed: %s', job_name, coalesce(details ->> 'error', error)), 2000),
                             jsonb_build_object('job', job_name) || details);
  END IF;
  RETURN run;
END $$;

-- Run one job now: log it, and turn a failure into an alert. A second runner of the same
-- job at the same moment skips it (advisory lock per job), so pg_cron, a scheduler and a
-- DBA in psql may all run jobs at once. `only_if_due`: skip a job run less than ~its
-- interval ago (9/10 of it: a one-minute job on a one-minute tick runs on every tick).
CREATE OR REPLACE FUNCTION upkeep.run_job(name text, runner text DEFAULT NULL, only_if_due boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  job upkeep.jobs;
  started timestamptz;
  rows jsonb;
  ok boolean := true;
  err text;
  state text;
  run upkeep.runs;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM upkeep.jobs j WHERE j.name = run_job.name) THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('no upkeep job %L (see upkeep.jobs)', name),
                             jsonb_build_object('argument', 'name'));
  END IF;
  IF (SELECT j.kind FROM upkeep.jobs j WHERE j.name = run_job.name) = 'host' THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      format('%L is a host job (a command, not SQL): `kioskledger scheduler --host-jobs --once` runs it when due', name),
      jsonb_build_object('argument', 'name'));
  END IF;
  IF NOT pg_try_advisory_xact_lock(hashtext('kioskledger.upkeep'), hashtext(name)) THEN
    RETURN jsonb_build_object('job', name, 'skipped', 'running');
  END IF;
  -- Read after the lock: a runner that finished meanwhile has moved last_started_at.
  SELECT * INTO job FROM upkeep.jobs j WHERE j.name = run_job.name FOR UPDATE;
  IF only_if_due AND (NOT job.enabled OR job.last_started_at + job.every * 0.9 > clock_timestamp()) THEN
    RETURN jsonb_build_object('job', name, 'skipped', 'not_due');
  END IF;
  started := clock_timestamp();
  UPDATE upkeep.jobs j SET last_started_at = started WHERE j.name = job.name;
  BEGIN
    EXECUTE format('SELECT coalesce(jsonb_agg(to_jsonb(r)), ''[]'') FROM (%s) r', job.command) INTO rows;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
    ok := false;
  END;
  run := upkeep.record_run(job.name, runner, started, ok,
                           CASE WHEN jsonb_array_length(rows) = 1 THEN rows -> 0 ELSE rows END,
                           CASE WHEN NOT ok THEN state || ': ' || err END,
                           CASE WHEN NOT ok THEN jsonb_build_object('sqlstate', state, 'error', err) ELSE '{}' END);
  RETURN to_jsonb(run);
END $$;
COMMENT ON FUNCTION upkeep.run_job(text, text, boolean) IS
  'Run one upkeep job now (SELECT upkeep.run_job(''rollup_balances'')): logged in upkeep.runs; a failure is logged and raises the upkeep alert job_failed (a success clears it), never an error. A concurrent run of the same job is skipped ({"skipped": "running"}).';

-- Every due job, each in its own transaction (a slow or failing job holds no other back).
-- What pg_cron and `kioskledger scheduler` call; a CALL at top level (not in a transaction
-- block), since it commits.
CREATE OR REPLACE PROCEDURE upkeep.run_due(runner text DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE job text;
BEGIN
  -- Host jobs are commands, not SQL: only `kioskledger scheduler --host-jobs` runs them.
  FOR job IN SELECT j.name FROM upkeep.jobs j WHERE j.enabled AND j.kind = 'sql' ORDER BY j.position, j.name LOOP
    PERFORM upkeep.run_job(job, runner, true);
    COMMIT;
  END LOOP;
END $$;
COMMENT ON PROCEDURE upkeep.run_due(text) IS
  'Run every enabled SQL upkeep job whose interval has passed (never a host job), one transaction each. pg_cron and `kioskledger scheduler` CALL it on their tick.';

-- Retention of what upkeep and alerts write.
CREATE OR REPLACE FUNCTION upkeep.prune(OUT alerts bigint, OUT runs bigint)
LANGUAGE plpgsql AS $$
DECLARE keep_alerts interval := make_interval(days => (core.setting('alerts.keep_resolved_days'))::int);
BEGIN
  WITH old AS (SELECT a.id FROM core.alerts a WHERE a.status = 'resolved' AND a.resolved_at < now() - keep_alerts),
       events AS (DELETE FROM core.alert_events e USING old WHERE e.alert_id = old.id),
       gone AS (DELETE FROM core.alerts a USING old WHERE a.id = old.id RETURNING 1)
  SELECT count(*) INTO alerts FROM gone;
  WITH gone AS (DELETE FROM upkeep.runs r
                 WHERE r.started_at < now() - make_interval(days => (core.setting('upkeep.keep_runs_days'))::int)
                RETURNING 1)
  SELECT count(*) INTO runs FROM gone;
END $$;

-- Which runner serves the schedule here: pg_cron when our cron job is scheduled in this
-- database, else a `kioskledger scheduler` process must (make run starts one).
CREATE OR REPLACE FUNCTION upkeep.runner() RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  found boolean;
  jobs regclass := to_regclass('cron.job');  -- only where pg_cron is installed
BEGIN
  IF jobs IS NULL THEN
    RETURN 'scheduler';
  END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE jobname = $1 AND active AND database = current_database())', jobs)
     INTO found USING 'kioskledger-upkeep';
  RETURN CASE WHEN found THEN 'pg_cron' ELSE 'scheduler' END;
END $$;

-- For a DBA: each job, when it last ran and how, and when it is due.
CREATE OR REPLACE VIEW upkeep.job_status AS
SELECT j.name, j.every, j.enabled, j.position, j.last_started_at, j.last_ok_at,
       j.last_started_at + j.every AS next_due_at,
       r.ok AS last_ok, r.duration_ms AS last_duration_ms, r.result AS last_result, r.error AS last_error, r.runner AS last_runner,
       (SELECT count(*) FROM upkeep.runs x WHERE x.job = j.name AND x.started_at > now() - interval '1 day') AS runs_24h,
       (SELECT count(*) FROM upkeep.runs x WHERE x.job = j.name AND x.started_at > now() - interval '1 day' AND NOT x.ok)
         AS failures_24h,
       j.description, j.kind
  FROM upkeep.jobs j
  LEFT JOIN LATERAL (SELECT * FROM upkeep.runs x WHERE x.job = j.name ORDER BY x.id DESC LIMIT 1) r ON true
 ORDER BY j.position, j.name;
