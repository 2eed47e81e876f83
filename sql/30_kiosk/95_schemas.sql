-- JSON Schemas of the kiosk api (see core.api_schemas): what sql/30_kiosk/90_api.sql returns
-- and checks.
INSERT INTO core.api_schemas AS s (function, part, schema) VALUES
  ('kiosk_assign_company', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('kiosk_assign_company', 'result', '{
     "type": "object", "required": ["kiosk_id", "kind", "company_id"], "additionalProperties": false,
     "properties": {
       "kiosk_id": {"type": "string"}, "kind": {"enum": ["atm", "checkout"]},
       "company_id": {"type": ["string", "null"], "description": "null: admins only"}}}')
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;
