-- The catalogue version: which sql/ is applied and when (migrate re-applies sql/ after
-- every migration, so this changes with each migrate that changes anything), and the
-- last migration applied. The RPC server reads it as authenticator: it polls it, since
-- behind PgBouncer in transaction mode its LISTEN for reloads is lost, and shows it on
-- /health. A view, so authenticator reads these three columns and nothing else of the
-- tables (core.repeatable_sql, yoyo's public._yoyo_migration).
CREATE VIEW core.catalogue_version AS
SELECT r.sha256                                                  AS sql_sha256,
       r.applied_at                                              AS sql_applied_at,
       (SELECT max(m.migration_id) FROM public._yoyo_migration m) AS migration
  FROM core.repeatable_sql r;
COMMENT ON VIEW core.catalogue_version IS
  'The applied sql/ (sha256, applied_at) and the last migration: what the RPC server polls to notice a migrate.';
GRANT SELECT ON core.catalogue_version TO authenticator;
