-- pg_cron, where the server has it: one cron job in this database CALLs upkeep.run_due()
-- on every tick (30 s with pg_cron 1.5+, which takes seconds; every minute before), and
-- upkeep.jobs says what is due. pg_cron lives in one database per server
-- (cron.database_name) and must be in shared_preload_libraries; anywhere else (managed
-- Postgres without it, another database of the server) nothing is scheduled here and
-- `kioskledger scheduler` runs the same CALL (upkeep.runner() says which applies).
DO $$
DECLARE
  loaded boolean := 'pg_cron' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','));
  version text;
BEGIN
  IF NOT loaded OR current_database() IS DISTINCT FROM current_setting('cron.database_name', true)
     OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pg_cron') THEN
    RAISE NOTICE 'pg_cron is not available in this database: run `kioskledger scheduler` for upkeep';
    RETURN;
  END IF;
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_cron;
  EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_cron: cannot create the extension (%); run `kioskledger scheduler` for upkeep', SQLERRM;
    RETURN;
  END;
  SELECT e.extversion INTO version FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_cron';
  -- Scheduling under the same name replaces the job's schedule and command.
  PERFORM cron.schedule('kioskledger-upkeep',
    CASE WHEN (string_to_array(split_part(version, '-', 1), '.')::int[]) >= ARRAY[1, 5] THEN '30 seconds'
         ELSE '* * * * *' END,
    'CALL upkeep.run_due(''pg_cron'')');
END $$;
