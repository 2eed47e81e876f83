-- The HTTP surface: every api function documented, nothing executable by PUBLIC,
-- internal schemas out of reach of request roles.
BEGIN;
SELECT plan(12);

SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'api' AND coalesce(obj_description(p.oid, 'pg_proc'), '') = '' $$,
  'every api function has a COMMENT');
SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public', 'tap') AND n.nspname !~ '^pg_'
     AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                  WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') $$,
  'no function of ours is executable by PUBLIC');
SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'api' AND NOT p.prosecdef $$,
  'every api function is SECURITY DEFINER');
SELECT is_empty($$
  SELECT r, s FROM unnest(ARRAY['anon', 'kiosk', 'staff', 'operator', 'admin']) r,
                   unnest(ARRAY['core', 'ledger', 'cards']) s
   WHERE has_schema_privilege(r, s, 'USAGE') $$,
  'no request role can use the internal schemas');
SELECT ok(NOT has_function_privilege('anon', 'api.ledger_transfer(jsonb, text, text, jsonb)', 'EXECUTE'),
          'anon cannot move money');
SELECT ok(has_function_privilege('admin', 'api.ledger_transfer(jsonb, text, text, jsonb)', 'EXECUTE'),
          'admin can');
SELECT ok((SELECT rolinherit = false AND rolsuper = false FROM pg_roles WHERE rolname = 'authenticator'),
          'authenticator is NOINHERIT and not a superuser');
SELECT ok(has_table_privilege('authenticator', 'core.error_codes', 'SELECT'),
          'authenticator reads the error codes (the RPC loads them with the catalogue)');
SELECT ok(has_table_privilege('authenticator', 'core.catalogue_version', 'SELECT'),
          'authenticator reads the catalogue version (the RPC polls it for migrates)');
SELECT is_empty($$
  SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'core' AND c.relkind IN ('r', 'p', 'v', 'm')
     AND c.oid NOT IN ('core.error_codes'::regclass, 'core.catalogue_version'::regclass, 'core.api_schemas'::regclass)
     AND has_table_privilege('authenticator', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE') $$,
  'and nothing else in core');

-- A SECURITY DEFINER function runs with its owner's rights; the session's temporary schema
-- is searched before everything NOT listed after it, so a caller's temporary type could
-- stand in for one the function names (a domain whose check runs the caller's code as the
-- owner). pg_temp last in every definer function's path keeps it out.
SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p
   WHERE p.prosecdef
     AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c ~ '^search_path=.*pg_temp$') $$,
  'every SECURITY DEFINER function searches pg_temp last');
CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (false);
SELECT throws_ok($$ SELECT api.ledger_transfer('[{"account_id": 1, "amount": 5}]', 'move', 'temp-shadow') $$,
  'KL000', 'INVALID_REQUEST: postings must be an array of at least two {account_id, amount}',
  'a temporary type named like one a definer function uses does not reach it');
DROP DOMAIN pg_temp.jsonb;

SELECT * FROM finish();
ROLLBACK;
