-- core.api_schemas is filled by the sql/<domain>/95_schemas.sql files that follow; they
-- are the whole truth, so a row whose file line is gone goes with this.
DELETE FROM core.api_schemas;

INSERT INTO core.api_schemas AS s (function, part, schema) VALUES
  ('whoami', 'result', '{
     "type": "object", "required": ["role", "principal", "claims"],
     "properties": {
       "role": {"enum": ["anon", "kiosk", "staff", "operator", "admin"]},
       "principal": {"type": "string"},
       "claims": {"type": "object"}}}')
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;

-- The schemas as /openapi.json states them: a bound kept in a setting is written
-- "x-maximum-setting": "<key>" and stated as "maximum" with the setting's current value.
-- Read by the RPC server (rpc/catalogue.sql) with the catalogue.
CREATE OR REPLACE FUNCTION core.api_schemas_current() RETURNS TABLE (function text, part text, schema jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT s.function, s.part,
         CASE WHEN s.schema ? 'x-maximum-setting'
              THEN s.schema || jsonb_build_object('maximum', (SELECT t.value FROM core.settings t
                                                               WHERE t.key = s.schema ->> 'x-maximum-setting'))
              ELSE s.schema END
    FROM core.api_schemas s
$$;
REVOKE ALL ON FUNCTION core.api_schemas_current() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.api_schemas_current() TO authenticator;

-- A changed setting can change what the API accepts (above): the RPC servers reload.
CREATE OR REPLACE FUNCTION core.settings_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NOTIFY kioskledger_reload;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS settings_reload ON core.settings;
CREATE TRIGGER settings_reload AFTER INSERT OR UPDATE OR DELETE ON core.settings
  FOR EACH STATEMENT EXECUTE FUNCTION core.settings_changed();
