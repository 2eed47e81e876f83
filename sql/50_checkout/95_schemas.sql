-- JSON Schemas of the self-checkout api (see core.api_schemas): what sql/50_checkout/90_api.sql
-- returns and checks. Prices and totals are integer minor units; timestamps are ISO 8601.
INSERT INTO core.api_schemas AS s (function, part, schema) VALUES
  ('catalog', 'result', '{
     "type": "object", "required": ["version", "limits", "items"],
     "properties": {
       "version": {"type": "integer", "minimum": 0},
       "limits": {"type": "object", "required": ["max_batch"], "properties": {"max_batch": {"type": "integer"}}},
       "items": {"type": "array", "items": {
         "type": "object", "required": ["sku", "name", "price", "currency", "active"], "additionalProperties": false,
         "properties": {"sku": {"type": "string"}, "name": {"type": "string"}, "price": {"type": "integer"},
                        "currency": {"type": "string"}, "active": {"type": "boolean"}}}}}}'),
  ('catalog_upsert', 'sku', '{"pattern": "^[A-Za-z0-9_.:-]{1,64}$"}'),
  ('catalog_upsert', 'name', '{"pattern": "^ *[^ \\x00](?:[^\\x00]{0,198}[^ \\x00])? *$", "description": "1-200 characters once trimmed of spaces"}'),
  ('catalog_upsert', 'price', '{"minimum": 1, "maximum": 10000000}'),
  ('catalog_upsert', 'currency', '{"pattern": "^[A-Z]{3}$"}'),
  ('catalog_upsert', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('catalog_upsert', 'result', '{
     "type": "object",
     "required": ["sku", "name", "price", "currency", "active", "version", "changed", "catalog_version"],
     "additionalProperties": false,
     "properties": {
       "sku": {"type": "string"}, "name": {"type": "string"}, "price": {"type": "integer"},
       "currency": {"type": "string"}, "active": {"type": "boolean"},
       "version": {"type": "integer", "description": "the catalog version of this item''s last change"},
       "changed": {"type": "boolean"}, "catalog_version": {"type": "integer"}}}'),
  ('checkout_kiosk_register', 'kiosk_id', '{"pattern": "^[a-z0-9][a-z0-9_]{0,39}$"}'),
  ('checkout_kiosk_register', 'name', '{"pattern": "^ *[^ \\x00](?:[^\\x00]{0,198}[^ \\x00])? *$", "description": "1-200 characters once trimmed of spaces"}'),
  ('checkout_kiosk_register', 'location', '{"maxLength": 200}'),
  ('checkout_kiosk_register', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('checkout_kiosk_register', 'result', '{
     "type": "object", "required": ["kiosk_id", "kind", "name", "location", "company_id"],
     "additionalProperties": false,
     "properties": {
       "kiosk_id": {"type": "string"}, "kind": {"const": "checkout"}, "name": {"type": "string"},
       "location": {"type": ["string", "null"]}, "company_id": {"type": ["string", "null"]}}}'),
  ('checkout_sync', 'orders', '{
     "type": "array", "minItems": 1,
     "description": "at most checkout.max_batch (500) orders; an order that does not fit the shape is answered rejected, not refused",
     "items": {"type": "object",
               "required": ["idempotency_key", "created_at", "payment_method", "currency", "catalog_version", "lines"],
               "additionalProperties": false,
               "properties": {
                 "idempotency_key": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{8,128}$"},
                 "created_at": {"type": "string", "format": "date-time"},
                 "payment_method": {"enum": ["card", "mobile", "cash"]},
                 "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                 "catalog_version": {"type": "integer", "minimum": 0},
                 "lines": {"type": "array", "minItems": 1, "maxItems": 100, "items": {
                   "type": "object", "required": ["sku", "qty", "unit_price"], "additionalProperties": false,
                   "properties": {"sku": {"type": "string"},
                                  "qty": {"type": "integer", "minimum": 1, "maximum": 200},
                                  "unit_price": {"type": "integer", "minimum": 1, "maximum": 10000000}}}}}}}'),
  ('checkout_sync', 'result', '{
     "type": "object", "required": ["results", "accepted", "duplicate", "mismatch", "rejected", "catalog_version"],
     "additionalProperties": false,
     "properties": {
       "results": {"type": "array", "minItems": 1, "items": {
         "type": "object", "required": ["index", "status"], "additionalProperties": false,
         "properties": {
           "index": {"type": "integer", "minimum": 0}, "idempotency_key": {"type": "string"},
           "order_id": {"type": "string"},
           "status": {"enum": ["accepted", "duplicate", "mismatch", "rejected"]},
           "total": {"type": "integer", "description": "accepted and duplicate only"},
           "reason": {"type": "string", "description": "mismatch (idempotency_key_reused) and rejected only"},
           "message": {"type": "string"}}}},
       "accepted": {"type": "integer", "minimum": 0}, "duplicate": {"type": "integer", "minimum": 0},
       "mismatch": {"type": "integer", "minimum": 0}, "rejected": {"type": "integer", "minimum": 0},
       "catalog_version": {"type": "integer"}}}'),
  ('checkout_backlog', 'result', '{
     "type": "object", "required": ["kiosk_id", "oldest_pending_at"], "additionalProperties": false,
     "properties": {"kiosk_id": {"type": "string"},
                    "oldest_pending_at": {"type": ["string", "null"], "format": "date-time"}}}'),
  ('checkout_orders', 'limit', '{"minimum": 1, "maximum": 1000}'),
  ('checkout_orders', 'result', '{
     "type": "array", "items": {
       "type": "object",
       "required": ["order_id", "kiosk_id", "idempotency_key", "payment_method", "currency", "catalog_version",
                    "total", "flagged_lines", "created_at", "sold_at", "received_at", "transfer_id", "lines"],
       "additionalProperties": false,
       "properties": {
         "order_id": {"type": "string"}, "kiosk_id": {"type": "string"}, "idempotency_key": {"type": "string"},
         "payment_method": {"enum": ["card", "mobile", "cash"]}, "currency": {"type": "string"},
         "catalog_version": {"type": "integer"}, "total": {"type": "integer"},
         "flagged_lines": {"type": "integer", "minimum": 0},
         "created_at": {"type": "string", "format": "date-time"}, "sold_at": {"type": "string", "format": "date-time"},
         "received_at": {"type": "string", "format": "date-time"},
         "transfer_id": {"type": ["integer", "null"], "description": "the ledger transfer that booked the order"},
         "lines": {"type": "array", "items": {
           "type": "object", "required": ["sku", "qty", "unit_price", "amount", "catalog_price", "price_flag"],
           "additionalProperties": false,
           "properties": {
             "sku": {"type": "string"}, "qty": {"type": "integer"}, "unit_price": {"type": "integer"},
             "amount": {"type": "integer"}, "catalog_price": {"type": ["integer", "null"]},
             "price_flag": {"enum": ["not_in_version", "inactive_in_version", "price_differs", null]}}}}}}}'),
  ('dashboard_overview', 'result', '{
     "type": "object",
     "required": ["as_of", "kiosks", "online", "offline", "orders_today", "revenue_today", "pending_orders",
                  "kiosks_with_backlog", "oldest_unsynced_age_seconds", "refused_orders"],
     "additionalProperties": false,
     "properties": {
       "as_of": {"type": "string", "format": "date-time"},
       "kiosks": {"type": "integer"}, "online": {"type": "integer"}, "offline": {"type": "integer"},
       "orders_today": {"type": "integer"},
       "revenue_today": {"type": "object", "additionalProperties": {"type": "integer"},
                         "description": "per currency, minor units"},
       "pending_orders": {"type": "integer"}, "kiosks_with_backlog": {"type": "integer"},
       "oldest_unsynced_age_seconds": {"type": ["integer", "null"]}, "refused_orders": {"type": "integer"}}}'),
  ('dashboard_kiosks', 'result', '{
     "type": "array", "items": {
       "type": "object",
       "required": ["kiosk_id", "name", "location", "app_version", "last_seen_at", "link_up", "online",
                    "pending_orders", "oldest_pending_at", "oldest_unsynced_age_seconds", "orders_today",
                    "revenue_today", "last_sale_at", "last_sync_at", "refused_orders"],
       "additionalProperties": false,
       "properties": {
         "kiosk_id": {"type": "string"}, "name": {"type": "string"}, "location": {"type": ["string", "null"]},
         "app_version": {"type": ["string", "null"]},
         "last_seen_at": {"type": ["string", "null"], "format": "date-time"},
         "link_up": {"type": ["boolean", "null"]}, "online": {"type": "boolean"},
         "pending_orders": {"type": "integer"},
         "oldest_pending_at": {"type": ["string", "null"], "format": "date-time"},
         "oldest_unsynced_age_seconds": {"type": ["integer", "null"]},
         "orders_today": {"type": "integer"},
         "revenue_today": {"type": "object", "additionalProperties": {"type": "integer"}},
         "last_sale_at": {"type": ["string", "null"], "format": "date-time"},
         "last_sync_at": {"type": ["string", "null"], "format": "date-time"},
         "refused_orders": {"type": "integer"}}}}'),
-- The operator console's list of refused orders.
  ('checkout_refused_orders', 'limit', '{"minimum": 1, "maximum": 1000}'),
  ('checkout_refused_orders', 'errors', '["KIOSK_NOT_FOUND"]'),
  ('checkout_refused_orders', 'result', '{
     "type": "array", "description": "newest first", "items": {
       "type": "object",
       "required": ["id", "kiosk_id", "idempotency_key", "status", "reason", "message", "payload", "times", "first_seen_at",
                    "last_seen_at", "resolved_at"],
       "additionalProperties": false,
       "properties": {"id": {"type": "integer"}, "kiosk_id": {"type": "string"}, "idempotency_key": {"type": ["string", "null"]},
                      "status": {"enum": ["mismatch", "rejected"]}, "reason": {"type": "string"}, "message": {"type": "string"},
                      "payload": {"description": "the order as the kiosk sent it"}, "times": {"type": "integer", "minimum": 1},
                      "first_seen_at": {"type": "string", "format": "date-time"},
                      "last_seen_at": {"type": "string", "format": "date-time"},
                      "resolved_at": {"type": ["string", "null"], "format": "date-time"}}}}')
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;
