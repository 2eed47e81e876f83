-- depends: 1262.upkeep-accounts-cleanup

-- Host jobs: commands on the database machine (pgBackRest backups, the restore drill),
-- which pg_cron cannot run. The same table, schedule, log and alert as the SQL jobs; only
-- `kioskledger scheduler --host-jobs` runs them. Their command is the arguments of the
-- `kioskledger` subcommand `backup` or `restore-drill` (run without a shell): a row of this
-- table cannot make the scheduler run anything else (`kioskledger psql` could run a shell).
ALTER TABLE upkeep.jobs ADD COLUMN kind text NOT NULL DEFAULT 'sql' CHECK (kind IN ('sql', 'host'));
ALTER TABLE upkeep.jobs ADD CONSTRAINT jobs_host_command
  CHECK (kind = 'sql' OR command ~ '^(backup|restore-drill)( [^\n]*)?$');

INSERT INTO core.settings (key, value, description) VALUES
  ('upkeep.host_timeout_seconds', '7200',
   'a host job (a backup, the restore drill) still running after this many seconds is stopped and logged as failed');

-- Off until a formation with a pgBackRest stanza exists: `kioskledger run-ha` enables them
-- (upkeep.set_host_jobs). pgBackRest makes the first backup full whatever is asked.
INSERT INTO upkeep.jobs (name, kind, command, every, enabled, position, description) VALUES
  ('backup_full', 'host', 'backup --type full', '7 days', false, 10,
   'pgBackRest full backup of the formation'),
  ('backup_diff', 'host', 'backup --type diff', '1 day', false, 11,
   'pgBackRest differential backup (changes since the last full)'),
  ('backup_incr', 'host', 'backup --type incr', '1 hour', false, 12,
   'pgBackRest incremental backup (changes since the last backup)'),
  ('restore_drill', 'host', 'restore-drill', '1 day', false, 20,
   'restores the backups to now in a scratch cluster and checks the ledger invariants hold');
