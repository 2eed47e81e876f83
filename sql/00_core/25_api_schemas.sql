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
