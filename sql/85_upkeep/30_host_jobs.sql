-- Host jobs (upkeep.jobs.kind = 'host'): commands on the database machine - pgBackRest
-- backups, the restore drill - that pg_cron cannot run. `kioskledger scheduler --host-jobs`
-- runs the due ones as subprocesses between these calls; the schedule, the log
-- (upkeep.runs), the alert and the one-runner-per-job lock are the SQL jobs' own.

-- The enabled host jobs whose interval has passed (the same 9/10 rule as run_job), in order.
CREATE OR REPLACE FUNCTION upkeep.host_jobs_due()
RETURNS TABLE (name text, command text, timeout_s integer)
LANGUAGE sql STABLE AS $$
  SELECT j.name, j.command, (core.setting('upkeep.host_timeout_seconds'))::int
    FROM upkeep.jobs j
   WHERE j.kind = 'host' AND j.enabled
     AND (j.last_started_at IS NULL OR j.last_started_at + j.every * 0.9 <= clock_timestamp())
   ORDER BY j.position, j.name
$$;

-- Claim a host job for a run: the job's advisory lock (the key run_job takes), held by this
-- session until host_job_finish, so no other runner starts it meanwhile. NULL when another
-- runner holds it or it is no longer due. Call it outside a transaction block: the start
-- must be committed while the command runs.
CREATE OR REPLACE FUNCTION upkeep.host_job_begin(name text) RETURNS timestamptz
LANGUAGE plpgsql AS $$
DECLARE
  job upkeep.jobs;
  started timestamptz;
BEGIN
  IF NOT pg_try_advisory_lock(hashtext('kioskledger.upkeep'), hashtext(name)) THEN
    RETURN NULL;
  END IF;
  SELECT * INTO job FROM upkeep.jobs j WHERE j.name = host_job_begin.name FOR UPDATE;
  IF job.kind IS DISTINCT FROM 'host' OR NOT job.enabled OR job.last_started_at + job.every * 0.9 > clock_timestamp() THEN
    PERFORM pg_advisory_unlock(hashtext('kioskledger.upkeep'), hashtext(name));
    RETURN NULL;
  END IF;
  started := clock_timestamp();
  UPDATE upkeep.jobs j SET last_started_at = started WHERE j.name = job.name;
  RETURN started;
END $$;
COMMENT ON FUNCTION upkeep.host_job_begin(text) IS
  'Claim a due host job for this session (its advisory lock, until upkeep.host_job_finish): its start time, or NULL when it is running elsewhere or not due. Used by `kioskledger scheduler --host-jobs`.';

-- Log the run of a host job claimed by host_job_begin and release its lock: exit code 0 is
-- a success (clears the alert); anything else a failure whose error is the tail of the
-- command's stderr (raises upkeep/job_failed). A runner whose session was lost meanwhile
-- (a failover) logs it from a new session: the lock went with the old one.
CREATE OR REPLACE FUNCTION upkeep.host_job_finish(name text, runner text, started timestamptz, exit_code integer,
                                                  output text, error text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  ok boolean := exit_code IS NOT DISTINCT FROM 0;
  failure text := coalesce(nullif(btrim(right(error, 2000)), ''), format('exit code %s', exit_code));
  run upkeep.runs;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM upkeep.jobs j WHERE j.name = host_job_finish.name AND j.kind = 'host') THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('no host job %L (see upkeep.jobs)', name),
                             jsonb_build_object('argument', 'name'));
  END IF;
  run := upkeep.record_run(name, runner, started, ok,
                           jsonb_build_object('exit_code', exit_code, 'output', right(output, 2000)),
                           failure,
                           CASE WHEN NOT ok THEN jsonb_build_object('exit_code', exit_code, 'error', failure) ELSE '{}' END);
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
              WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.objsubid = 2
                AND l.classid = hashtext('kioskledger.upkeep')::oid AND l.objid = hashtext(name)::oid) THEN
    PERFORM pg_advisory_unlock(hashtext('kioskledger.upkeep'), hashtext(name));
  END IF;
  RETURN to_jsonb(run);
END $$;
COMMENT ON FUNCTION upkeep.host_job_finish(text, text, timestamptz, integer, text, text) IS
  'Log a host job''s run (exit code, output and stderr tails) in upkeep.runs, raise or clear its job_failed alert, release its lock. Used by `kioskledger scheduler --host-jobs`.';

-- Host jobs are off until this machine has what they need (a formation with a pgBackRest
-- stanza): `kioskledger run-ha` turns them on.
CREATE OR REPLACE FUNCTION upkeep.set_host_jobs(enabled boolean) RETURNS integer
LANGUAGE sql AS $$
  WITH changed AS (UPDATE upkeep.jobs j SET enabled = set_host_jobs.enabled
                    WHERE j.kind = 'host' AND j.enabled IS DISTINCT FROM set_host_jobs.enabled RETURNING 1)
  SELECT count(*)::int FROM changed
$$;
COMMENT ON FUNCTION upkeep.set_host_jobs(boolean) IS
  'Enable or disable every host job (backups, the restore drill); the number changed. `kioskledger run-ha` enables them.';
