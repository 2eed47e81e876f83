-- JSON Schemas of the vending (DEX) api (see core.api_schemas): what sql/60_dex/90_api.sql
-- returns and checks. Money is integer minor units of the machine's currency (decimals).
INSERT INTO core.api_schemas AS s (function, part, schema) VALUES
  ('company_create', 'company_id', '{"pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"}'),
  ('company_create', 'name', '{"pattern": "^ *[^ \\x00](?:[^\\x00]{0,198}[^ \\x00])? *$", "description": "1-200 characters once trimmed of spaces"}'),
  ('company_create', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('company_create', 'result', '{"type": "object", "required": ["company_id", "name", "created_at"], "additionalProperties": false, "properties": {"company_id": {"type": "string"}, "name": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}}'),
  ('machine_register', 'case_serial', '{"pattern": "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"}'),
  ('machine_register', 'location', '{"pattern": "^ *[^ \\x00](?:[^\\x00]{0,198}[^ \\x00])? *$", "description": "1-200 characters once trimmed of spaces, or null"}'),
  ('machine_register', 'model', '{"pattern": "^ *[^ \\x00](?:[^\\x00]{0,98}[^ \\x00])? *$", "description": "1-100 characters once trimmed of spaces; selects the MA5 decoders"}'),
  ('machine_register', 'currency', '{"pattern": "^[A-Z]{3}$"}'),
  ('machine_register', 'decimals', '{"minimum": 0, "maximum": 4}'),
  ('machine_register', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('machine_register', 'result', '{"type": "object", "required": ["machine_id", "case_serial", "company_id", "location", "model", "currency", "decimals"], "additionalProperties": false, "properties": {"machine_id": {"type": "integer"}, "case_serial": {"type": "string"}, "company_id": {"type": "string"}, "location": {"type": ["string", "null"]}, "model": {"type": "string"}, "currency": {"type": "string"}, "decimals": {"type": "integer", "minimum": 0, "maximum": 4}}}'),
  ('dex_ingest', 'source', '{"pattern": "^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,63}$"}'),
  ('dex_ingest', 'raw', '{"description": "the DEX file as text, at most 1 MB (1000000 bytes of UTF-8)"}'),
  ('dex_ingest', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('dex_ingest', 'result', '{"type": "object", "required": ["capture_id", "status", "crc_status", "se_status", "warnings", "reads"], "additionalProperties": false, "properties": {"capture_id": {"type": "integer"}, "status": {"enum": ["accepted", "rejected", "duplicate"]}, "original_status": {"enum": ["accepted", "rejected"], "description": "duplicate only: the first capture''s status"}, "reject_reason": {"type": ["string", "null"], "description": "accepted and rejected only; null when accepted"}, "crc_status": {"enum": ["ok", "ok_swapped", "ok_no_final_crlf", "not_computed", "absent", "mismatch", null], "description": "the worst block''s; null when no block was booked"}, "se_status": {"enum": ["ok", "absent", "mismatch", null]}, "warnings": {"type": "array", "items": {"type": "string"}}, "reads": {"type": "array", "items": {"type": "object", "required": ["read_id", "block", "crc_status", "se_status", "selections", "vends_delta", "revenue_delta", "delta_kind", "warnings"], "additionalProperties": false, "description": "read_at and read_at_source are left out for a late read (history only)", "properties": {"read_id": {"type": "integer"}, "block": {"type": "integer", "minimum": 1}, "crc_status": {"enum": ["ok", "ok_swapped", "ok_no_final_crlf", "not_computed", "absent", "mismatch"]}, "se_status": {"enum": ["ok", "absent", "mismatch"]}, "read_at": {"type": "string", "format": "date-time"}, "read_at_source": {"enum": ["captured_at", "machine_clock", "received"]}, "selections": {"type": "integer", "minimum": 0}, "vends_delta": {"type": ["integer", "null"]}, "revenue_delta": {"type": ["integer", "null"]}, "delta_kind": {"enum": ["baseline", "normal", "reset", "wrap", "late", "since_reset", "unavailable"]}, "warnings": {"type": "array", "items": {"type": "string"}}, "case_serial": {"type": "string", "description": "only for a block booked to another machine of the company"}}}, "description": "empty for a duplicate or rejected file"}}}'),
  ('machines_summary', 'result', '{"type": "object", "required": ["recent_within", "locations", "machines"], "additionalProperties": false, "properties": {"recent_within": {"type": "string", "description": "the interval as Postgres prints it"}, "locations": {"type": "array", "items": {"type": "object", "required": ["location_id", "company_id", "name", "address", "machines", "unresolved_errors"], "additionalProperties": false, "properties": {"location_id": {"type": ["integer", "null"]}, "company_id": {"type": "string"}, "name": {"type": ["string", "null"]}, "address": {"type": ["string", "null"]}, "machines": {"type": "array", "items": {"type": "string"}}, "unresolved_errors": {"type": "integer", "minimum": 0}}}}, "machines": {"type": "array", "items": {"type": "object", "required": ["case_serial", "company_id", "location_id", "location", "address", "model", "currency", "decimals", "last_read_at", "last_read_time_source", "last_received_at", "reads", "firmware", "temperature", "cash", "unresolved_errors", "errors", "product_count", "slots", "has_recent_data"], "additionalProperties": false, "properties": {"case_serial": {"type": "string"}, "company_id": {"type": "string"}, "location_id": {"type": ["integer", "null"]}, "location": {"type": ["string", "null"]}, "address": {"type": ["string", "null"]}, "model": {"type": "string"}, "currency": {"type": "string"}, "decimals": {"type": "integer", "minimum": 0, "maximum": 4}, "last_read_at": {"type": ["string", "null"], "format": "date-time"}, "last_read_time_source": {"enum": ["captured_at", "machine_clock", "received", null]}, "last_received_at": {"type": ["string", "null"], "format": "date-time"}, "reads": {"type": "integer", "minimum": 0}, "firmware": {"type": ["string", "null"]}, "temperature": {"type": "object", "required": ["current_c", "target_c"], "additionalProperties": false, "properties": {"current_c": {"type": ["number", "null"]}, "target_c": {"type": ["number", "null"]}}}, "cash": {"type": "object", "required": ["tubes_value", "denominations", "cash_box"], "additionalProperties": false, "properties": {"tubes_value": {"type": ["integer", "null"]}, "denominations": {"type": "array", "items": {"type": "object"}}, "cash_box": {"type": "object", "required": ["since", "total"], "properties": {"since": {"type": ["string", "null"]}, "total": {"type": ["integer", "null"]}}}}}, "unresolved_errors": {"type": "integer", "minimum": 0}, "errors": {"type": "array", "items": {"type": "object", "required": ["error_id", "source", "code"], "additionalProperties": false, "properties": {"error_id": {"type": "integer"}, "source": {"type": "string"}, "code": {"type": "string"}}}}, "product_count": {"type": "integer", "minimum": 0}, "slots": {"type": "array", "items": {"type": "object", "required": ["selection", "product_code", "product_name"], "additionalProperties": false, "properties": {"selection": {"type": "string"}, "product_code": {"type": ["string", "null"]}, "product_name": {"type": ["string", "null"]}}}}, "has_recent_data": {"type": "boolean"}}}}}}'),
  ('machine_error_resolve', 'note', '{"pattern": "^ *[^ \\x00](?:[^\\x00]{0,1998}[^ \\x00])? *$", "description": "what was done: 1-2000 characters once trimmed of spaces"}'),
  ('machine_error_resolve', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('machine_error_resolve', 'result', '{"type": "object", "required": ["error_id", "source", "code", "resolved_at", "resolved_by", "resolution_note"], "additionalProperties": false, "properties": {"error_id": {"type": "integer"}, "source": {"type": "string"}, "code": {"type": "string"}, "resolved_at": {"type": "string", "format": "date-time"}, "resolved_by": {"type": ["string", "null"]}, "resolution_note": {"type": "string"}}}'),
  ('vending_product_upsert', 'product_code', '{"pattern": "^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"}'),
  ('vending_product_upsert', 'name', '{"pattern": "^ *[^ \\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]{0,198}[^ \\x00-\\x1f\\x7f-\\x9f])? *$", "description": "1-200 printable characters once trimmed of spaces"}'),
  ('vending_product_upsert', 'category', '{"pattern": "^ *[^ \\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]{0,98}[^ \\x00-\\x1f\\x7f-\\x9f])? *$", "description": "1-100 printable characters once trimmed of spaces, or null"}'),
  ('vending_product_upsert', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('vending_product_upsert', 'result', '{"type": "object", "required": ["product_id", "company_id", "product_code", "name", "category"], "additionalProperties": false, "properties": {"product_id": {"type": "integer"}, "company_id": {"type": "string"}, "product_code": {"type": "string"}, "name": {"type": "string"}, "category": {"type": ["string", "null"]}}}'),
  ('vending_products', 'result', '{"type": "array", "items": {"type": "object", "required": ["product_id", "company_id", "product_code", "name", "category"], "additionalProperties": false, "properties": {"product_id": {"type": "integer"}, "company_id": {"type": "string"}, "product_code": {"type": "string"}, "name": {"type": "string"}, "category": {"type": ["string", "null"]}}}}'),
  ('location_create', 'name', '{"pattern": "^ *[^ \\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]{0,198}[^ \\x00-\\x1f\\x7f-\\x9f])? *$", "description": "1-200 printable characters once trimmed of spaces"}'),
  ('location_create', 'address', '{"pattern": "^ *[^ \\x00-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f](?:[^\\x00-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f]{0,498}[^ \\x00-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f])? *$", "description": "1-500 characters once trimmed of spaces (line breaks allowed), or null"}'),
  ('location_create', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('location_create', 'result', '{"type": "object", "required": ["location_id", "company_id", "name", "address"], "additionalProperties": false, "properties": {"location_id": {"type": "integer"}, "company_id": {"type": "string"}, "name": {"type": "string"}, "address": {"type": ["string", "null"]}}}'),
  ('machine_assign_location', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('machine_assign_location', 'result', '{"type": "object", "required": ["case_serial", "location_id", "location", "address"], "additionalProperties": false, "description": "location_id, location and address are null when unassigned", "properties": {"case_serial": {"type": "string"}, "location_id": {"type": ["integer", "null"]}, "location": {"type": ["string", "null"]}, "address": {"type": ["string", "null"]}}}'),
  ('vending_locations', 'result', '{"type": "array", "items": {"type": "object", "required": ["location_id", "company_id", "name", "address", "machines"], "additionalProperties": false, "properties": {"location_id": {"type": "integer"}, "company_id": {"type": "string"}, "name": {"type": "string"}, "address": {"type": ["string", "null"]}, "machines": {"type": "array", "items": {"type": "string"}}}}}'),
  ('machine_cash_collect', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('machine_cash_collect', 'result', '{"type": "object", "required": ["case_serial", "collection_id", "collected_at", "read_id", "expected_coins", "expected_bills", "expected_total"], "additionalProperties": false, "properties": {"case_serial": {"type": "string"}, "collection_id": {"type": "integer"}, "collected_at": {"type": "string", "format": "date-time"}, "read_id": {"type": "integer"}, "expected_coins": {"type": ["integer", "null"]}, "expected_bills": {"type": ["integer", "null"]}, "expected_total": {"type": ["integer", "null"]}}}')
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;

-- Route operations and the machine pages (sql/60_dex/35_products.sql .. 40_fleet.sql). A
-- DEX clock (machine_clock, ea3_read_time) is a wall time without a zone ("2026-05-01T10:00:00"),
-- so it is a string, not an RFC 3339 date-time.
INSERT INTO core.api_schemas AS s (function, part, schema) VALUES
  ('machine_details', 'result', '{
     "type": "object", "additionalProperties": false,
     "required": ["case_serial", "company_id", "model", "location_id", "location", "address", "currency", "decimals",
                  "last_read_at", "last_read_time_source", "last_received_at", "last_read_id", "reads", "firmware",
                  "machine_clock", "ea3_read_time", "slots", "cash", "temperatures", "errors", "totals",
                  "recent_captures"],
     "properties": {
       "case_serial": {"type": "string"}, "company_id": {"type": "string"}, "model": {"type": "string"},
       "location_id": {"type": ["integer", "null"]}, "location": {"type": ["string", "null"]},
       "address": {"type": ["string", "null"]}, "currency": {"type": "string"},
       "decimals": {"type": "integer", "minimum": 0, "maximum": 4},
       "last_read_at": {"type": ["string", "null"], "format": "date-time"},
       "last_read_time_source": {"enum": ["captured_at", "machine_clock", "received", null]},
       "last_received_at": {"type": ["string", "null"], "format": "date-time"},
       "last_read_id": {"type": ["integer", "null"], "description": "null before the first accepted read"},
       "reads": {"type": "integer", "minimum": 0}, "firmware": {"type": ["string", "null"]},
       "machine_clock": {"type": ["string", "null"], "description": "ID5 of the latest read, zoneless"},
       "ea3_read_time": {"type": ["string", "null"], "description": "EA3 this-read time of the latest read, zoneless"},
       "slots": {"type": "array", "description": "the selections of the latest read", "items": {
         "type": "object", "additionalProperties": false,
         "required": ["selection", "price", "product_code", "product_name", "category", "name_source", "capacity",
                      "par_level", "estimated_stock", "last_filled_at", "vends", "revenue", "vends_since_reset",
                      "revenue_since_reset", "by_device"],
         "properties": {
           "selection": {"type": "string"}, "price": {"type": ["integer", "null"]},
           "product_code": {"type": ["string", "null"]}, "product_name": {"type": ["string", "null"]},
           "category": {"type": ["string", "null"]},
           "name_source": {"enum": ["planogram", "catalogue", "file", null]},
           "capacity": {"type": ["integer", "null"]}, "par_level": {"type": ["integer", "null"]},
           "estimated_stock": {"type": ["integer", "null"], "minimum": 0, "description": "null until a refill is recorded"},
           "last_filled_at": {"type": ["string", "null"], "format": "date-time"},
           "vends": {"type": ["integer", "null"]}, "revenue": {"type": ["integer", "null"]},
           "vends_since_reset": {"type": ["integer", "null"]}, "revenue_since_reset": {"type": ["integer", "null"]},
           "by_device": {"type": "array", "description": "PA7: per payment device", "items": {
             "type": "object", "additionalProperties": false,
             "required": ["device", "price_list", "price", "vends", "revenue", "vends_since_reset", "revenue_since_reset"],
             "properties": {
               "device": {"type": ["string", "null"]}, "price_list": {"type": ["string", "null"]},
               "price": {"type": ["integer", "null"]}, "vends": {"type": ["integer", "null"]},
               "revenue": {"type": ["integer", "null"]}, "vends_since_reset": {"type": ["integer", "null"]},
               "revenue_since_reset": {"type": ["integer", "null"]}}}}}}},
       "cash": {"type": "object", "additionalProperties": false,
         "required": ["tubes_value", "ca15_reported", "tubes", "cash_box", "last_read", "cashless"],
         "properties": {
           "tubes_value": {"type": ["integer", "null"]},
           "ca15_reported": {"type": ["integer", "null"], "description": "CA15 as the latest read reports it"},
           "tubes": {"type": "array", "items": {
             "type": "object", "additionalProperties": false,
             "required": ["coin_value", "coins", "value", "coin_types", "full"],
             "properties": {"coin_value": {"type": "integer"}, "coins": {"type": ["integer", "null"]},
                            "value": {"type": ["integer", "null"]}, "coin_types": {"type": "string"},
                            "full": {"type": "boolean"}}}},
           "cash_box": {"type": "object", "additionalProperties": false, "required": ["since", "total"],
             "description": "since and total only (both null) before the first read with cash counters",
             "properties": {
               "since": {"enum": ["last_collection", "first_read", null]},
               "last_collected_at": {"type": ["string", "null"], "format": "date-time"},
               "coins": {"type": ["integer", "null"]}, "bills": {"type": ["integer", "null"]},
               "total": {"type": ["integer", "null"]}, "cash_in": {"type": ["integer", "null"]},
               "coins_to_tubes": {"type": ["integer", "null"]}, "dispensed": {"type": ["integer", "null"]},
               "manually_filled": {"type": ["integer", "null"]},
               "counters": {"enum": ["normal", "reset", "wrap", "unavailable"]}}},
           "last_read": {"description": "the latest read''s CA3/CA4/CA10 counters and bill validator, or null",
             "oneOf": [{"type": "null"}, {
               "type": "object", "additionalProperties": false,
               "required": ["cash_in", "coins_to_box", "coins_to_tubes", "bills_in", "dispensed", "manually_dispensed",
                            "manually_filled", "cash_in_reset", "coins_to_box_reset", "coins_to_tubes_reset",
                            "bills_in_reset", "dispensed_reset", "manually_dispensed_reset", "manually_filled_reset",
                            "bill_validator"],
               "properties": {
                 "cash_in": {"type": ["integer", "null"]}, "coins_to_box": {"type": ["integer", "null"]},
                 "coins_to_tubes": {"type": ["integer", "null"]}, "bills_in": {"type": ["integer", "null"]},
                 "dispensed": {"type": ["integer", "null"]}, "manually_dispensed": {"type": ["integer", "null"]},
                 "manually_filled": {"type": ["integer", "null"]}, "cash_in_reset": {"type": ["integer", "null"]},
                 "coins_to_box_reset": {"type": ["integer", "null"]}, "coins_to_tubes_reset": {"type": ["integer", "null"]},
                 "bills_in_reset": {"type": ["integer", "null"]}, "dispensed_reset": {"type": ["integer", "null"]},
                 "manually_dispensed_reset": {"type": ["integer", "null"]},
                 "manually_filled_reset": {"type": ["integer", "null"]},
                 "bill_validator": {"type": ["string", "null"]}}}]},
           "cashless": {"description": "DA2/DB2 of the latest read, or null",
             "oneOf": [{"type": "null"}, {
               "type": "object", "additionalProperties": false,
               "properties": {
                 "DA2": {"type": "object", "additionalProperties": false, "required": ["value_init", "count_init"],
                         "properties": {"value_init": {"type": ["integer", "null"]},
                                        "count_init": {"type": ["integer", "null"]}}},
                 "DB2": {"type": "object", "additionalProperties": false, "required": ["value_init", "count_init"],
                         "properties": {"value_init": {"type": ["integer", "null"]},
                                        "count_init": {"type": ["integer", "null"]}}}}}]}}},
       "temperatures": {"type": "array", "items": {
         "type": "object", "additionalProperties": false, "required": ["reading", "celsius", "raw"],
         "properties": {"reading": {"enum": ["current", "target"]},
                        "celsius": {"type": ["number", "null"], "description": "null when the scale is in doubt"},
                        "raw": {"type": "string", "description": "the MA5 line"}}}},
       "errors": {"type": "array", "description": "unresolved first, then newest; at most 100", "items": {
         "type": "object", "additionalProperties": false,
         "required": ["error_id", "source", "code", "detail", "first_seen_at", "last_seen_at", "reads", "resolved_at",
                      "resolved_by", "resolution_note", "reopened_at"],
         "properties": {
           "error_id": {"type": "integer"}, "source": {"enum": ["MA5", "EA2"]}, "code": {"type": "string"},
           "detail": {"type": ["string", "null"]},
           "first_seen_at": {"type": "string", "format": "date-time"},
           "last_seen_at": {"type": "string", "format": "date-time"},
           "reads": {"type": "integer", "minimum": 1},
           "resolved_at": {"type": ["string", "null"], "format": "date-time"},
           "resolved_by": {"type": ["string", "null"]}, "resolution_note": {"type": ["string", "null"]},
           "reopened_at": {"type": ["string", "null"], "format": "date-time"}}}},
       "totals": {"type": "object", "description": "the latest read''s audit totals by record (VA1, CA2, DA2, ...)",
         "propertyNames": {"pattern": "^[A-Z]{2}[0-9]+$"},
         "additionalProperties": {
           "type": "object", "additionalProperties": false,
           "required": ["value_init", "count_init", "value_reset", "count_reset"],
           "properties": {"value_init": {"type": ["integer", "null"]}, "count_init": {"type": ["integer", "null"]},
                          "value_reset": {"type": ["integer", "null"]}, "count_reset": {"type": ["integer", "null"]}}}},
       "recent_captures": {"type": "array", "maxItems": 10, "description": "newest first", "items": {
         "type": "object", "additionalProperties": false,
         "required": ["capture_id", "received_at", "captured_at", "source", "status", "reject_reason", "crc_status",
                      "se_status", "warnings"],
         "properties": {
           "capture_id": {"type": "integer"}, "received_at": {"type": "string", "format": "date-time"},
           "captured_at": {"type": ["string", "null"], "format": "date-time"}, "source": {"type": "string"},
           "status": {"enum": ["accepted", "rejected"]}, "reject_reason": {"type": ["string", "null"]},
           "crc_status": {"enum": ["ok", "ok_swapped", "ok_no_final_crlf", "not_computed", "absent", "mismatch", null]},
           "se_status": {"enum": ["ok", "absent", "mismatch", null]},
           "warnings": {"type": "array", "items": {"type": "string"}}}}}}}'),
  ('machine_sales', 'result', '{
     "type": "object", "additionalProperties": false,
     "required": ["case_serial", "currency", "decimals", "from", "to", "days"],
     "properties": {
       "case_serial": {"type": "string"}, "currency": {"type": "string"},
       "decimals": {"type": "integer", "minimum": 0, "maximum": 4},
       "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
       "days": {"type": "array", "minItems": 1, "maxItems": 367, "description": "every UTC day from..to, in order",
         "items": {
           "type": "object", "additionalProperties": false,
           "required": ["date", "vends", "revenue", "paid_vends_va1", "paid_revenue_va1", "reads", "wraps", "resets",
                        "selections"],
           "properties": {
             "date": {"type": "string", "format": "date"},
             "vends": {"type": "integer"}, "revenue": {"type": "integer"},
             "paid_vends_va1": {"type": "integer"}, "paid_revenue_va1": {"type": "integer"},
             "reads": {"type": "integer", "minimum": 0}, "wraps": {"type": "integer", "minimum": 0},
             "resets": {"type": "integer", "minimum": 0},
             "selections": {"type": "array", "items": {
               "type": "object", "additionalProperties": false,
               "required": ["selection", "product_code", "product_name", "vends", "revenue"],
               "properties": {"selection": {"type": "string"}, "product_code": {"type": ["string", "null"]},
                              "product_name": {"type": ["string", "null"]}, "vends": {"type": "integer"},
                              "revenue": {"type": "integer"}}}}}}}}}'),
  ('machine_planogram_set', 'slots', '{
     "type": "array", "minItems": 1, "maxItems": 500,
     "description": "each listed selection replaced as a whole (an absent or null field cleared); par_level at most capacity",
     "items": {"type": "object", "required": ["selection"], "additionalProperties": false,
               "properties": {
                 "selection": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,32}$"},
                 "product_code": {"type": ["string", "null"], "minLength": 1, "maxLength": 64,
                                  "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
                                  "description": "a product of the machine''s company (vending_product_upsert)"},
                 "capacity": {"type": ["integer", "null"], "minimum": 0, "maximum": 10000},
                 "par_level": {"type": ["integer", "null"], "minimum": 0, "maximum": 10000}}}}'),
  ('machine_planogram_set', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('machine_planogram_set', 'result', '{
     "type": "object", "additionalProperties": false, "required": ["case_serial", "slots"],
     "properties": {
       "case_serial": {"type": "string"},
       "slots": {"type": "array", "description": "every slot of the machine, as resolved", "items": {
         "type": "object", "additionalProperties": false,
         "required": ["selection", "product_code", "product_name", "category", "capacity", "par_level", "name_source"],
         "properties": {
           "selection": {"type": "string"}, "product_code": {"type": ["string", "null"]},
           "product_name": {"type": ["string", "null"]}, "category": {"type": ["string", "null"]},
           "capacity": {"type": ["integer", "null"]}, "par_level": {"type": ["integer", "null"]},
           "name_source": {"enum": ["planogram", "catalogue", "file", null]}}}}}}'),
  ('machine_refill', 'slots', '{
     "type": ["array", "null"], "minItems": 1, "maxItems": 500,
     "items": {"type": "object", "required": ["selection"], "additionalProperties": false,
               "properties": {
                 "selection": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,32}$"},
                 "quantity": {"type": ["integer", "null"], "minimum": 0, "maximum": 10000,
                              "description": "the count left in the slot, at most its capacity; null or absent: to capacity"}}}}'),
  ('machine_refill', 'request_id', '{"minLength": 1, "maxLength": 255}'),
  ('machine_refill', 'result', '{
     "type": "object", "additionalProperties": false, "required": ["case_serial", "after_read_id", "slots"],
     "properties": {
       "case_serial": {"type": "string"},
       "after_read_id": {"type": ["integer", "null"], "description": "the read the stock counts from; null before any"},
       "slots": {"type": "array", "minItems": 1, "description": "the refilled slots", "items": {
         "type": "object", "additionalProperties": false,
         "required": ["selection", "product_name", "quantity", "capacity", "par_level"],
         "properties": {
           "selection": {"type": "string"}, "product_name": {"type": ["string", "null"]},
           "quantity": {"type": "integer", "minimum": 0}, "capacity": {"type": ["integer", "null"]},
           "par_level": {"type": ["integer", "null"]}}}}}}'),
  ('pick_list', 'result', '{
     "type": "object", "additionalProperties": false,
     "required": ["location_id", "locations", "products", "not_estimated"],
     "properties": {
       "location_id": {"type": ["integer", "null"], "description": "the location asked for, or null: all"},
       "locations": {"type": "array", "items": {
         "type": "object", "additionalProperties": false,
         "required": ["company_id", "location_id", "name", "address", "bring", "machines"],
         "properties": {
           "company_id": {"type": "string"}, "location_id": {"type": ["integer", "null"]},
           "name": {"type": ["string", "null"]}, "address": {"type": ["string", "null"]},
           "bring": {"type": "integer"},
           "machines": {"type": "array", "minItems": 1, "items": {
             "type": "object", "additionalProperties": false, "required": ["case_serial", "model", "bring", "slots"],
             "properties": {
               "case_serial": {"type": "string"}, "model": {"type": "string"}, "bring": {"type": "integer"},
               "slots": {"type": "array", "minItems": 1, "items": {
                 "type": "object", "additionalProperties": false,
                 "required": ["selection", "product_code", "product_name", "capacity", "par_level", "estimate", "bring",
                              "last_filled_at"],
                 "properties": {
                   "selection": {"type": "string"}, "product_code": {"type": ["string", "null"]},
                   "product_name": {"type": ["string", "null"]}, "capacity": {"type": "integer"},
                   "par_level": {"type": "integer"}, "estimate": {"type": "integer", "minimum": 0},
                   "bring": {"type": "integer"},
                   "last_filled_at": {"type": "string", "format": "date-time"}}}}}}}}}},
       "products": {"type": "array", "description": "the van load", "items": {
         "type": "object", "additionalProperties": false,
         "required": ["company_id", "product_code", "product_name", "bring"],
         "properties": {"company_id": {"type": "string"}, "product_code": {"type": ["string", "null"]},
                        "product_name": {"type": ["string", "null"]}, "bring": {"type": "integer"}}}},
       "not_estimated": {"type": "array", "description": "slots with a par level but no recorded refill", "items": {
         "type": "object", "additionalProperties": false, "required": ["case_serial", "selection"],
         "properties": {"case_serial": {"type": "string"}, "selection": {"type": "string"}}}}}}')
ON CONFLICT (function, part) DO UPDATE SET schema = excluded.schema;
