-- api: system functions that prove the request path.

CREATE OR REPLACE FUNCTION api.whoami() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT jsonb_build_object('role', core.request_role(), 'principal', core.principal(), 'claims', core.claims())
$$;
COMMENT ON FUNCTION api.whoami() IS
  'The caller as the database sees it: the request role (from the JWT, anon without one), the principal used to scope idempotency keys, and the verified JWT claims.';
GRANT EXECUTE ON FUNCTION api.whoami() TO anon, kiosk, staff, operator, admin;
