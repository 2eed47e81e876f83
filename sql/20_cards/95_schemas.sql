-- JSON Schemas of the cards api (see core.api_schemas): what sql/20_cards/90_api.sql
-- returns and checks. A card id is 8 letters or digits (cards.normalize_id, answered
-- upper-case); amounts are integer minor units of the event currency.
INSERT INTO core.api_schemas AS s (function, part, schema) VALUES
  ('card_issue', 'card_id', '{"pattern": "^[A-Za-z0-9]{8}$"}'),
  ('card_issue', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('card_issue', 'result', '{
     "type": "object", "required": ["card_id", "status", "balance", "currency", "refund_code_source"],
     "properties": {
       "card_id": {"type": "string", "pattern": "^[A-Z0-9]{8}$"},
       "status": {"const": "active"}, "balance": {"const": 0}, "currency": {"type": "string"},
       "refund_code_source": {"enum": ["issued", "imported"]},
       "refund_code": {"type": "string", "description": "only in the first answer of a card whose code was issued here"}}}'),
  ('card_balance', 'card_id', '{"pattern": "^[A-Za-z0-9]{8}$"}'),
  ('card_balance', 'result', '{
     "type": "object", "required": ["card_id", "status", "balance", "currency", "debt"],
     "properties": {
       "card_id": {"type": "string", "pattern": "^[A-Z0-9]{8}$"},
       "status": {"enum": ["active", "frozen", "blocked"]}, "balance": {"type": "integer"},
       "currency": {"type": "string"}, "debt": {"type": "integer", "minimum": 0}}}'),
  ('bar_order', 'card_id', '{"pattern": "^[A-Za-z0-9]{8}$"}'),
  ('bar_order', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('bar_order', 'items', '{
     "type": "array", "minItems": 1, "maxItems": 50,
     "items": {"type": "object", "required": ["product_id", "quantity"], "additionalProperties": false,
               "properties": {"product_id": {"type": "string"},
                              "quantity": {"type": "integer", "minimum": 1, "maximum": 100}}}}'),
  ('bar_order', 'errors', '["INSUFFICIENT_FUNDS", "CARD_NOT_ACTIVE"]'),
  ('bar_order', 'result', '{
     "type": "object",
     "required": ["order_id", "card_id", "total", "deposit_total", "currency", "previous_balance", "new_balance"],
     "properties": {
       "order_id": {"type": "integer"}, "card_id": {"type": "string"},
       "total": {"type": "integer", "minimum": 1}, "deposit_total": {"type": "integer", "minimum": 0},
       "currency": {"type": "string"},
       "previous_balance": {"type": "integer"}, "new_balance": {"type": "integer"}}}'),
  ('deposit_return', 'card_id', '{"pattern": "^[A-Za-z0-9]{8}$"}'),
  ('deposit_return', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('deposit_return', 'quantity', '{"minimum": 1}'),
  ('deposit_return', 'result', '{
     "type": "object",
     "required": ["return_id", "card_id", "quantity", "amount", "currency", "previous_balance", "new_balance"],
     "properties": {
       "return_id": {"type": "integer"}, "card_id": {"type": "string"}, "quantity": {"type": "integer"},
       "amount": {"type": "integer"}, "currency": {"type": "string"},
       "previous_balance": {"type": "integer"}, "new_balance": {"type": "integer"}}}'),
  ('checkpoint_recharge', 'card_id', '{"pattern": "^[A-Za-z0-9]{8}$"}'),
  ('checkpoint_recharge', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('checkpoint_recharge', 'amount', '{"minimum": 1, "x-maximum-setting": "cards.max_recharge"}'),
  ('checkpoint_recharge', 'payment_method', '{"enum": ["cash", "card"]}'),
  ('checkpoint_recharge', 'result', '{
     "type": "object",
     "required": ["recharge_id", "card_id", "amount", "currency", "payment_method", "previous_balance", "new_balance"],
     "properties": {
       "recharge_id": {"type": "integer"}, "card_id": {"type": "string"},
       "amount": {"type": "integer", "minimum": 1}, "currency": {"type": "string"},
       "payment_method": {"enum": ["cash", "card"]},
       "previous_balance": {"type": "integer"}, "new_balance": {"type": "integer"}}}'),
  ('refund_request', 'card_id', '{"pattern": "^[A-Za-z0-9]{8}$"}'),
  ('refund_request', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('refund_request', 'errors', '["REFUND_CODE_INVALID", "REFUND_CODE_LOCKED", "REFUND_CODE_NOT_SET", "NOTHING_TO_REFUND", "REFUND_ALREADY_REQUESTED"]'),
  ('refund_request', 'result', '{
     "type": "object", "required": ["refund_id", "card_id", "amount", "fee", "currency", "status", "card_status"],
     "properties": {
       "refund_id": {"type": "integer"}, "card_id": {"type": "string"},
       "amount": {"type": "integer", "minimum": 1}, "fee": {"type": "integer", "minimum": 0},
       "currency": {"type": "string"}, "status": {"const": "pending"}, "card_status": {"const": "frozen"}}}'),
  ('products', 'result', '{
     "type": "array", "items": {
       "type": "object", "required": ["product_id", "name", "category", "price", "is_deposit"],
       "properties": {"product_id": {"type": "string"}, "name": {"type": "string"},
                      "category": {"type": "string"}, "price": {"type": "integer", "minimum": 1},
                      "is_deposit": {"type": "boolean"}}}}'),
  ('card_history', 'card_id', '{"pattern": "^[A-Za-z0-9]{8}$"}'),
  ('card_history', 'limit', '{"minimum": 1, "maximum": 500}'),
  ('card_history', 'result', '{
     "type": "array", "description": "newest first",
     "items": {
       "type": "object",
       "required": ["transfer_id", "kind", "amount", "previous_balance", "new_balance", "details", "created_at"],
       "additionalProperties": false,
       "properties": {
         "transfer_id": {"type": "integer"}, "kind": {"type": "string"}, "amount": {"type": "integer"},
         "previous_balance": {"type": "integer"}, "new_balance": {"type": "integer"},
         "details": {"description": "the ledger transfer''s metadata"},
         "created_at": {"type": "string", "format": "date-time"}}}}'),
  ('product_upsert', 'product_id', '{"pattern": "^[A-Za-z0-9_.-]{1,64}$"}'),
  ('product_upsert', 'name', '{"pattern": "^ *[^ \\x00](?:[^\\x00]{0,198}[^ \\x00])? *$", "description": "1-200 characters once trimmed of spaces"}'),
  ('product_upsert', 'category', '{"pattern": "^ *[^ \\x00](?:[^\\x00]{0,98}[^ \\x00])? *$", "description": "1-100 characters once trimmed of spaces"}'),
  ('product_upsert', 'price', '{"minimum": 1, "maximum": 1000000}'),
  ('product_upsert', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('product_upsert', 'result', '{
     "type": "object", "required": ["product_id", "name", "category", "price", "is_deposit", "updated_at"],
     "additionalProperties": false,
     "properties": {"product_id": {"type": "string"}, "name": {"type": "string"}, "category": {"type": "string"},
                    "price": {"type": "integer", "minimum": 1}, "is_deposit": {"type": "boolean"},
                    "updated_at": {"type": "string", "format": "date-time"}}}'),
  ('recharge_intent_create', 'card_id', '{"pattern": "^[A-Za-z0-9]{8}$"}'),
  ('recharge_intent_create', 'amount', '{"minimum": 1, "x-maximum-setting": "cards.max_online_recharge"}'),
  ('recharge_intent_create', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('recharge_intent_create', 'result', '{
     "type": "object",
     "required": ["intent_id", "card_id", "amount", "currency", "status", "session_id", "checkout_url"],
     "additionalProperties": false,
     "properties": {
       "intent_id": {"type": "string", "format": "uuid"}, "card_id": {"type": "string", "pattern": "^[A-Z0-9]{8}$"},
       "amount": {"type": "integer", "minimum": 1}, "currency": {"type": "string"},
       "status": {"enum": ["pending", "open", "succeeded", "failed", "expired"]},
       "session_id": {"type": ["string", "null"], "description": "null until the checkout session is attached"},
       "checkout_url": {"type": ["string", "null"]}}}'),
  ('nfc_scan', 'device_id', '{"pattern": "^[A-Za-z0-9_.:-]{1,64}$"}'),
  ('nfc_scan', 'location', '{"type": ["string", "null"], "maxLength": 200}'),
  ('nfc_scan', 'status', '{"pattern": "^[a-z_]{1,32}$"}'),
  ('nfc_scan', 'result', '{
     "type": "object", "required": ["scan_id", "card_id", "duplicate", "card_known"], "additionalProperties": false,
     "properties": {
       "scan_id": {"type": "integer"}, "card_id": {"type": "string"},
       "duplicate": {"type": "boolean", "description": "the same scan from this device within 2 s"},
       "card_known": {"type": "boolean"}}}'),
-- The festival's reports (api.festival_*, refunds_list, refund_exports_list, refund_export_file).
  ('festival_sales_per_hour', 'result', '{
     "type": "object", "required": ["since", "until", "currency", "hours", "rows", "totals"], "additionalProperties": false,
     "properties": {
       "since": {"type": "string", "format": "date-time"}, "until": {"type": "string", "format": "date-time"},
       "hours": {"type": "array", "items": {"type": "string", "format": "date-time"}, "description": "every hour of the window, oldest first"},
       "currency": {"type": "string"},
       "rows": {"type": "array", "description": "oldest hour first", "items": {
         "type": "object", "required": ["point_of_sale", "hour", "orders", "sales", "deposits_taken"], "additionalProperties": false,
         "properties": {"point_of_sale": {"type": "string"}, "hour": {"type": "string", "format": "date-time"},
                        "orders": {"type": "integer", "minimum": 1}, "sales": {"type": "integer"},
                        "deposits_taken": {"type": "integer", "minimum": 0}}}},
       "totals": {"type": "array", "items": {
         "type": "object", "required": ["point_of_sale", "orders", "sales"], "additionalProperties": false,
         "properties": {"point_of_sale": {"type": "string"}, "orders": {"type": "integer"}, "sales": {"type": "integer"}}}}}}'),
  ('festival_top_products', 'limit', '{"minimum": 1, "maximum": 100}'),
  ('festival_top_products', 'result', '{
     "type": "array", "items": {
       "type": "object", "required": ["product_id", "name", "category", "units", "revenue"], "additionalProperties": false,
       "properties": {"product_id": {"type": "string"}, "name": {"type": "string"}, "category": {"type": "string"},
                      "units": {"type": "integer"}, "revenue": {"type": "integer"}}}}'),
  ('festival_recharges', 'result', '{
     "type": "array", "items": {
       "type": "object", "required": ["checkpoint_id", "method", "recharges", "amount"], "additionalProperties": false,
       "properties": {"checkpoint_id": {"type": "string", "description": "online for Stripe recharges"},
                      "method": {"enum": ["cash", "card", "stripe"]},
                      "recharges": {"type": "integer", "minimum": 1}, "amount": {"type": "integer", "minimum": 1}}}}'),
  ('festival_cards_attention', 'limit', '{"minimum": 1, "maximum": 1000}'),
  ('festival_cards_attention', 'result', '{
     "type": "array", "items": {
       "type": "object", "required": ["card_id", "status", "balance", "debt", "disputed"], "additionalProperties": false,
       "properties": {"card_id": {"type": "string", "pattern": "^[A-Z0-9]{8}$"},
                      "status": {"enum": ["active", "frozen", "blocked"]}, "balance": {"type": "integer"},
                      "debt": {"type": "integer", "minimum": 0}, "disputed": {"type": "boolean"}}}}'),
  ('refunds_list', 'status', '{"enum": ["pending", "exported", null], "description": "null: both"}'),
  ('refunds_list', 'limit', '{"minimum": 1, "maximum": 1000}'),
  ('refunds_list', 'result', '{
     "type": "object", "required": ["summary", "refunds"], "additionalProperties": false,
     "properties": {
       "summary": {"type": "object", "required": ["pending", "exported"], "additionalProperties": false,
         "properties": {
           "pending": {"type": "object", "required": ["count", "amount"], "additionalProperties": false,
                       "properties": {"count": {"type": "integer"}, "amount": {"type": "integer"}}},
           "exported": {"type": "object", "required": ["count", "amount"], "additionalProperties": false,
                        "properties": {"count": {"type": "integer"}, "amount": {"type": "integer"}}}}},
       "refunds": {"type": "array", "description": "newest first", "items": {
         "type": "object",
         "required": ["refund_id", "card_id", "name", "iban", "amount", "fee", "currency", "status", "export_id", "created_at"],
         "additionalProperties": false,
         "properties": {"refund_id": {"type": "integer"}, "card_id": {"type": "string"}, "name": {"type": "string"},
                        "iban": {"type": "string", "description": "masked: first and last four characters"},
                        "amount": {"type": "integer", "minimum": 1}, "fee": {"type": "integer", "minimum": 0},
                        "currency": {"type": "string"}, "status": {"enum": ["pending", "exported"]},
                        "export_id": {"type": ["integer", "null"]}, "created_at": {"type": "string", "format": "date-time"}}}}}}'),
  ('refund_exports_list', 'limit', '{"minimum": 1, "maximum": 1000}'),
  ('refund_exports_list', 'result', '{
     "type": "array", "items": {
       "type": "object", "required": ["export_id", "message_id", "count", "total", "currency", "created_at"],
       "additionalProperties": false,
       "properties": {"export_id": {"type": "integer"}, "message_id": {"type": "string"}, "count": {"type": "integer"},
                      "total": {"type": "integer"}, "currency": {"const": "EUR"},
                      "created_at": {"type": "string", "format": "date-time"}}}}'),
  ('refund_export_file', 'errors', '["REFUND_EXPORT_NOT_FOUND"]'),
  ('refund_export_file', 'result', '{
     "type": "object",
     "required": ["export_id", "message_id", "count", "total", "currency", "created_at", "filename", "xml"],
     "additionalProperties": false,
     "properties": {"export_id": {"type": "integer"}, "message_id": {"type": "string"}, "count": {"type": "integer"},
                    "total": {"type": "integer"}, "currency": {"const": "EUR"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "filename": {"type": "string"}, "xml": {"type": "string", "description": "pain.001.001.03"}}}'),
  ('card_refund_codes_import', 'codes', '{
     "type": "array", "minItems": 1, "maxItems": 50,
     "description": "one entry per card (each card once); a batch that conflicts imports nothing",
     "items": {"type": "object", "required": ["card_id", "refund_code"], "additionalProperties": false,
               "properties": {
                 "card_id": {"type": "string", "pattern": "^[A-Za-z0-9]{8}$"},
                 "refund_code": {"type": "string",
                                 "pattern": "^[ \\t-]*(?:[A-Za-z0-9][ \\t-]*){8,64}$",
                                 "description": "8-64 letters or digits; spaces, tabs and dashes ignored"}}}}'),
  ('card_refund_codes_import', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('card_refund_codes_import', 'result', '{
     "type": "object", "required": ["imported", "unchanged"], "additionalProperties": false,
     "properties": {
       "imported": {"type": "integer", "minimum": 0, "description": "cards that got their code now"},
       "unchanged": {"type": "integer", "minimum": 0, "description": "cards that already had this very code"}}}'),
  ('refund_export', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('refund_export', 'result', '{
     "oneOf": [
       {"type": "object", "description": "a file: every pending EUR refund, now exported",
        "required": ["export_id", "count", "total", "currency", "xml"], "additionalProperties": false,
        "properties": {
          "export_id": {"type": "integer"}, "count": {"type": "integer", "minimum": 1},
          "total": {"type": "integer", "minimum": 1}, "currency": {"const": "EUR"},
          "xml": {"type": "string", "description": "pain.001.001.03 (SEPA credit transfers), UTF-8"}}},
       {"type": "object", "description": "nothing pending: no file",
        "required": ["export_id", "count", "total", "xml"], "additionalProperties": false,
        "properties": {"export_id": {"type": "null"}, "count": {"const": 0}, "total": {"const": 0},
                       "xml": {"type": "null"}}}]}')
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;

-- Text rules the functions check, as patterns (exact: what matches is accepted).
INSERT INTO core.api_schemas AS s (function, part, schema) VALUES
  ('refund_request', 'name', '{"pattern": "^ *[^ \\x00](?:[^\\x00]{0,68}[^ \\x00])? *$", "description": "the account holder: 1-70 characters once trimmed of spaces (SEPA)"}'),
  ('refund_request', 'email', '{"maxLength": 254, "pattern": "^[^@\\x00\\t\\n\\x0b\\f\\r \\u1680\\u2000-\\u2006\\u2008-\\u200a\\u2028\\u2029\\u205f\\u3000]+@[^@\\x00\\t\\n\\x0b\\f\\r \\u1680\\u2000-\\u2006\\u2008-\\u200a\\u2028\\u2029\\u205f\\u3000]+\\.[^@\\x00\\t\\n\\x0b\\f\\r \\u1680\\u2000-\\u2006\\u2008-\\u200a\\u2028\\u2029\\u205f\\u3000]+$"}'),
  ('bar_order', 'point_of_sale', '{"pattern": "^[A-Za-z0-9_.:-]{1,64}$"}'),
  ('deposit_return', 'point_of_sale', '{"pattern": "^[A-Za-z0-9_.:-]{1,64}$"}'),
  ('checkpoint_recharge', 'checkpoint_id', '{"pattern": "^[A-Za-z0-9_.:-]{1,64}$"}'),
  ('nfc_scan', 'card_id', '{"pattern": "^[A-Za-z0-9]{8}$"}')
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;
