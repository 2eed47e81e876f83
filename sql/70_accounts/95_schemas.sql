-- JSON Schemas of the accounts api (see core.api_schemas): what sql/70_accounts/90_api.sql
-- returns and checks. An account id is a UUID (its tokens' sub); emails are answered
-- lower-case; a hash is never part of an answer.
WITH account (schema) AS (VALUES ('{
     "type": "object",
     "required": ["id", "email", "display_name", "role", "company_id", "point_of_sale", "checkpoint", "disabled",
                  "locked_until", "failed_logins", "last_login_at", "password_changed_at",
                  "created_at", "created_by", "updated_at", "updated_by"],
     "additionalProperties": false,
     "properties": {
       "id": {"type": "string", "format": "uuid"}, "email": {"type": "string"},
       "display_name": {"type": "string"}, "role": {"enum": ["staff", "operator", "admin"]},
       "company_id": {"type": ["string", "null"]}, "point_of_sale": {"type": ["string", "null"]},
       "checkpoint": {"type": ["string", "null"]}, "disabled": {"type": "boolean"},
       "locked_until": {"type": ["string", "null"], "format": "date-time", "description": "while logins are locked"},
       "failed_logins": {"type": "integer", "minimum": 0},
       "last_login_at": {"type": ["string", "null"], "format": "date-time"},
       "password_changed_at": {"type": "string", "format": "date-time"},
       "created_at": {"type": "string", "format": "date-time"}, "created_by": {"type": "string"},
       "updated_at": {"type": "string", "format": "date-time"}, "updated_by": {"type": "string"}}}'::jsonb)),
     session (schema) AS (VALUES ('{
     "type": "object",
     "required": ["claims", "account", "expires_in", "refresh_token", "refresh_expires_in"],
     "additionalProperties": false,
     "properties": {
       "claims": {"type": "object", "required": ["role", "sub", "email"]},
       "account": {"type": "object", "required": ["id", "email", "display_name", "role", "company_id", "point_of_sale", "checkpoint"]},
       "expires_in": {"type": "integer", "minimum": 1}, "refresh_token": {"type": "string", "pattern": "^klr_[0-9a-f]{64}$"},
       "refresh_expires_in": {"type": "integer", "minimum": 1}}}'::jsonb))
INSERT INTO core.api_schemas AS s (function, part, schema)
SELECT f, p, v::jsonb FROM (VALUES
  ('account_create', 'email', '{"maxLength": 254, "pattern": "^ *[^@\\s\\x00]+@[^@\\s\\x00]+ *$", "description": "an address; kept trimmed and lower-case, unique"}'),
  ('account_create', 'password', '{"minLength": 1, "description": "accounts.password_min_length (default 10) characters to 72 bytes"}'),
  ('account_create', 'role', '{"enum": ["staff", "operator", "admin"]}'),
  ('account_create', 'display_name', '{"minLength": 1, "maxLength": 100}'),
  ('account_create', 'company_id', '{"pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", "description": "required for operators, absent otherwise"}'),
  ('account_create', 'point_of_sale', '{"pattern": "^[A-Za-z0-9_.:-]{1,64}$", "description": "staff only"}'),
  ('account_create', 'checkpoint', '{"pattern": "^[A-Za-z0-9_.:-]{1,64}$", "description": "staff only"}'),
  ('account_create', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('account_create', 'result', (SELECT schema FROM account)::text),
  ('account_update', 'changes', '{
     "type": "object", "minProperties": 1, "additionalProperties": false,
     "properties": {
       "email": {"type": "string"}, "display_name": {"type": "string"},
       "role": {"enum": ["staff", "operator", "admin"]},
       "company_id": {"type": ["string", "null"]}, "point_of_sale": {"type": ["string", "null"]},
       "checkpoint": {"type": ["string", "null"]}, "disabled": {"type": "boolean"}}}'),
  ('account_update', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('account_update', 'result', (SELECT schema FROM account)::text),
  ('account_set_password', 'new_password', '{"minLength": 1, "description": "accounts.password_min_length (default 10) characters to 72 bytes"}'),
  ('account_set_password', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('account_set_password', 'errors', '["CURRENT_PASSWORD_INVALID", "ACCOUNT_LOCKED"]'),
  ('account_set_password', 'result', '{
     "type": "object", "required": ["account_id", "email", "sessions_revoked"], "additionalProperties": false,
     "properties": {"account_id": {"type": "string", "format": "uuid"}, "email": {"type": "string"},
                    "sessions_revoked": {"type": "integer", "minimum": 0}}}'),
  ('account_unlock', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('account_unlock', 'result', '{
     "type": "object", "required": ["account_id", "email", "was_locked"], "additionalProperties": false,
     "properties": {"account_id": {"type": "string", "format": "uuid"}, "email": {"type": "string"},
                    "was_locked": {"type": "boolean"}}}'),
  ('accounts', 'role', '{"enum": ["staff", "operator", "admin"]}'),
  ('accounts', 'result', jsonb_build_object('type', 'array', 'items', (SELECT schema FROM account))::text),
  ('auth_login', 'errors', '["INVALID_LOGIN", "ACCOUNT_LOCKED"]'),
  ('auth_login', 'result', (SELECT schema FROM session)::text),
  ('auth_refresh', 'errors', '["INVALID_REFRESH_TOKEN"]'),
  ('auth_refresh', 'result', (SELECT schema FROM session)::text),
  ('auth_logout', 'result', '{
     "type": "object", "required": ["revoked"], "additionalProperties": false,
     "properties": {"revoked": {"type": "integer", "minimum": 0}}}')
) AS rows (f, p, v)
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;
