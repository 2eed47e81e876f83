-- What the RPC reads from the database at start-up and on every NOTIFY kioskledger_reload,
-- on one connection. One named query per `-- name:` header (read by rpc/catalogue.py).

-- name: functions
-- The HTTP API is the set of functions in schema api. One row per function.
SELECT p.proname                                  AS name,
       p.provolatile::text                        AS volatility,
       p.proretset                                AS returns_set,
       format_type(p.prorettype, NULL)            AS return_type,
       p.pronargs                                 AS nargs,
       p.pronargdefaults                          AS ndefaults,
       coalesce(pg_get_expr(p.proargdefaults, 0), '') AS defaults,
       coalesce(p.proargnames, '{}')              AS argnames,
       coalesce(p.proargmodes::text[], '{}')      AS argmodes,
       ARRAY(SELECT format_type(t, NULL)
               FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS u(t, i) ORDER BY i) AS argtypes,
       coalesce(obj_description(p.oid, 'pg_proc'), '') AS comment,
       ARRAY(SELECT r FROM unnest(ARRAY['anon', 'kiosk', 'staff', 'operator', 'admin']) AS r
              WHERE has_function_privilege(r, p.oid, 'EXECUTE'))   AS roles
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'api' AND p.prokind = 'f'
 ORDER BY p.proname

-- name: error_codes
-- Error code -> HTTP status (rows: sql/00_core/20_error_codes.sql).
SELECT code, http_status FROM core.error_codes

-- name: version
-- Which catalogue the database holds (sql/00_core/30_catalogue_version.sql).
SELECT sql_sha256, sql_applied_at, migration FROM core.catalogue_version

-- name: api_schemas
-- JSON Schemas of results and arguments, declared error codes (sql/*/95_schemas.sql).
SELECT function, part, schema FROM core.api_schemas_current()

-- name: sources
-- The bodies of our functions, to find the error codes an api function can answer with:
-- the codes its body and the bodies of the functions it calls raise or decline with.
SELECT n.nspname || '.' || p.proname AS name, p.prosrc AS source
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public', 'tap') AND n.nspname !~ '^pg_'

-- name: ops_gauges
-- Not the catalogue: the business gauges /metrics exposes (rpc/metrics.py), as authenticator.
SELECT core.ops_gauges()
