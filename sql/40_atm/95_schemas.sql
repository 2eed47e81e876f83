-- JSON Schemas of the ATM api (see core.api_schemas): what sql/40_atm/90_api.sql returns
-- and checks. Amounts are cents; a transaction pays out whole quarters.
INSERT INTO core.api_schemas AS s (function, part, schema) VALUES
  ('atm_transaction_create', 'amount', '{"minimum": 25, "multipleOf": 25, "description": "at most the kiosk''s max_amount"}'),
  ('atm_transaction_create', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('atm_transaction_create', 'result', '{
     "type": "object",
     "required": ["id", "kiosk_id", "amount", "fee", "total", "quarters", "currency", "status", "expires_at",
                  "payment_reference", "pay_url"],
     "properties": {
       "id": {"type": "string", "format": "uuid"}, "kiosk_id": {"type": "string"},
       "amount": {"type": "integer"}, "fee": {"type": "integer"}, "total": {"type": "integer"},
       "quarters": {"type": "integer"}, "currency": {"type": "string"}, "status": {"type": "string"},
       "expires_at": {"type": "string", "format": "date-time"},
       "payment_reference": {"type": "string"}, "pay_url": {"type": "string"}}}')
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;
