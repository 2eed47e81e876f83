-- JSON Schemas of the ledger api (see core.api_schemas): what sql/10_ledger/90_api.sql
-- returns and checks. Amounts are integer minor units.
INSERT INTO core.api_schemas AS s (function, part, schema) VALUES
  ('ledger_account_open', 'kind', '{"pattern": "^[a-z][a-z0-9_]{0,62}$"}'),
  ('ledger_account_open', 'currency', '{"pattern": "^[A-Z]{3}$"}'),
  ('ledger_account_open', 'lower_bound', '{"type": ["integer", "null"], "maximum": 0, "description": "null: no lower bound"}'),
  ('ledger_account_open', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('ledger_account_open', 'result', '{
     "type": "object", "required": ["id", "kind", "owner_ref", "currency", "lower_bound", "balance"],
     "properties": {
       "id": {"type": "integer"}, "kind": {"type": "string"}, "owner_ref": {"type": ["string", "null"]},
       "currency": {"type": "string"}, "lower_bound": {"type": ["integer", "null"]},
       "balance": {"type": "integer"}}}'),
  ('ledger_transfer', 'postings', '{
     "type": "array", "minItems": 2,
     "items": {"type": "object", "required": ["account_id", "amount"],
               "properties": {"account_id": {"type": "integer"},
                              "amount": {"type": "integer", "not": {"const": 0}}}}}'),
  ('ledger_transfer', 'kind', '{"pattern": "^[a-z][a-z0-9_]{0,62}$"}'),
  ('ledger_transfer', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('ledger_transfer', 'metadata', '{"type": ["object", "null"], "description": "null is {}"}'),
  ('ledger_transfer', 'errors', '["INSUFFICIENT_FUNDS", "ACCOUNT_NOT_FOUND"]'),
  ('ledger_transfer', 'result', '{
     "type": "object", "required": ["transfer_id", "kind", "postings"],
     "properties": {
       "transfer_id": {"type": "integer"}, "kind": {"type": "string"},
       "postings": {"type": "array", "items": {
         "type": "object", "required": ["account_id", "amount", "balance"],
         "properties": {"account_id": {"type": "integer"}, "amount": {"type": "integer"},
                        "balance": {"type": "integer"}}}}}}'),
  ('ledger_account', 'result', '{
     "type": "object", "required": ["id", "kind", "currency", "lower_bound", "balance", "postings"],
     "properties": {
       "id": {"type": "integer"}, "kind": {"type": "string"}, "owner_ref": {"type": ["string", "null"]},
       "currency": {"type": "string"}, "lower_bound": {"type": ["integer", "null"]},
       "balance": {"type": "integer"},
       "postings": {"type": "array", "items": {
         "type": "object", "required": ["posting_id", "transfer_id", "kind", "amount", "created_at"],
         "properties": {"posting_id": {"type": "integer"}, "transfer_id": {"type": "integer"},
                        "kind": {"type": "string"}, "amount": {"type": "integer"},
                        "created_at": {"type": "string", "format": "date-time"}}}}}}')
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;
