-- Loaded once into the test database by the harness (not a test file itself).
-- tap.call(role, claims, query) runs one query as a request role with its claims, as
-- the RPC would, and switches back so the pgTAP assertions keep running as superuser.
CREATE SCHEMA IF NOT EXISTS tap;
CREATE OR REPLACE FUNCTION tap.call(request_role text, claims jsonb, query text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE result jsonb;
BEGIN
  PERFORM set_config('request.jwt.claims', claims::text, true), set_config('role', request_role, true);
  EXECUTE query INTO result;
  PERFORM set_config('role', 'none', true);
  RETURN result;
END $$;
