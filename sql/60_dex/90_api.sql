-- api: vending telemetry (DEX). Thin wrappers: argument checks, idempotency, then one
-- call into a dex.* entry point. They never read or write a dex table themselves: the
-- entry points run as dex_service, under the company policies (sql/60_dex/20_security.sql),
-- while these wrappers, like every api function, run as the migrating superuser, which
-- row-level security does not apply to.

CREATE OR REPLACE FUNCTION api.company_create(company_id text, name text, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF company_id IS NULL OR company_id !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'company_id must be 1-63 letters, digits, _ . - (starting with a letter or digit)',
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 characters', jsonb_build_object('argument', 'name'));
  END IF;
  replay := core.idem_begin('company_create', request_id, jsonb_build_object('company_id', company_id, 'name', name));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('company_create', request_id, dex.company_create(company_id, name));
END $$;
COMMENT ON FUNCTION api.company_create(text, text, text) IS
  'Admin: create a company (an operator''s token names its company in the company_id claim). company_id: 1-63 of [A-Za-z0-9_.-]. 409 CONFLICT if it exists. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.company_create(text, text, text) TO admin;

CREATE OR REPLACE FUNCTION api.machine_register(case_serial text, company_id text, location text, model text,
                                                currency text, decimals integer, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF case_serial IS NULL OR case_serial !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial must be 1-64 letters, digits, _ . : - (the telemetry device serial)',
                             jsonb_build_object('argument', 'case_serial'));
  END IF;
  IF company_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'company_id is required', jsonb_build_object('argument', 'company_id'));
  END IF;
  IF location IS NOT NULL AND length(btrim(location)) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'location must be 1-200 characters or null',
                             jsonb_build_object('argument', 'location'));
  END IF;
  IF model IS NULL OR length(btrim(model)) NOT BETWEEN 1 AND 100 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'model must be 1-100 characters (it selects the MA5 decoders)',
                             jsonb_build_object('argument', 'model'));
  END IF;
  IF currency IS NULL OR currency !~ '^[A-Z]{3}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'currency must be an ISO-4217 code such as EUR or USD',
                             jsonb_build_object('argument', 'currency'));
  END IF;
  IF decimals IS NULL OR decimals NOT BETWEEN 0 AND 4 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'decimals must be 0 to 4 (minor units per major unit = 10^decimals)',
                             jsonb_build_object('argument', 'decimals'));
  END IF;
  -- Explicit for a clear message; the policies would refuse the insert anyway.
  IF core.request_role() = 'operator' AND company_id IS DISTINCT FROM core.request_company() THEN
    PERFORM core.raise_error('FORBIDDEN', 'an operator registers machines for its own company only',
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  replay := core.idem_begin('machine_register', request_id, jsonb_build_object(
    'case_serial', case_serial, 'company_id', company_id, 'location', location, 'model', model,
    'currency', currency, 'decimals', decimals));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_register', request_id,
                          dex.machine_register(case_serial, company_id, location, model, currency, decimals));
END $$;
COMMENT ON FUNCTION api.machine_register(text, text, text, text, text, integer, text) IS
  'Admin, or an operator for its own company: register a vending machine by case_serial (the telemetry device serial that files arrive under; unique). model selects the MA5 temperature decoders (dex.ma5_decoders); currency/decimals are the configured money format, which wins over the file''s ID4. 404 COMPANY_NOT_FOUND, 409 CONFLICT if the serial exists. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.machine_register(text, text, text, text, text, integer, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.dex_ingest(case_serial text, raw text, source text, request_id text,
                                          captured_at timestamptz DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  IF raw IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'raw (the DEX file as text) is required', jsonb_build_object('argument', 'raw'));
  END IF;
  IF octet_length(raw) > 1000000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'raw is over 1 MB; a DEX audit is a few KB',
                             jsonb_build_object('argument', 'raw'));
  END IF;
  IF source IS NULL OR source !~ '^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,63}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'source must be 1-64 of [A-Za-z0-9_.:/@-], e.g. telemetry or dex-import',
                             jsonb_build_object('argument', 'source'));
  END IF;
  -- The capture time dates the read's sales and freshness: a time that has not happened yet
  -- (beyond a few minutes of clock skew between the source and us) is a wrong clock.
  IF NOT isfinite(captured_at) OR captured_at > now() + interval '5 minutes' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'captured_at must be a finite time, not in the future (5 minutes of clock skew allowed)',
                             jsonb_build_object('argument', 'captured_at'));
  END IF;
  -- The file's hash stands for the file in the idempotency payload (the capture time only
  -- when given, so keys stored before it existed still replay). An unknown (or another
  -- company's) machine raises MACHINE_NOT_FOUND below, which also drops the key.
  replay := core.idem_begin('dex_ingest', request_id, jsonb_build_object(
    'case_serial', case_serial, 'sha256', encode(sha256(convert_to(raw, 'UTF8')), 'hex'), 'source', source)
    || CASE WHEN captured_at IS NOT NULL THEN jsonb_build_object('captured_at', captured_at) ELSE '{}'::jsonb END);
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('dex_ingest', request_id, dex.ingest(case_serial, raw, source, captured_at));
END $$;
COMMENT ON FUNCTION api.dex_ingest(text, text, text, text, timestamptz) IS
  'Operator of the machine''s company, or admin: ingest one DEX/EVA-DTS file for the machine with this case serial; the SQL parses it (LF/CRLF/CR, several DXS blocks, G85 CRC-16 and SE checks). captured_at (optional): when the telemetry source captured the file; a read''s sales day and freshness go by it, else by the machine''s clock (EA3/ID5, a zoneless wall time taken as UTC), else by the receipt; 400 INVALID_REQUEST if not finite or in the future (5 minutes of skew allowed). Returns {capture_id, status: accepted|rejected|duplicate, reject_reason, crc_status: ok|ok_swapped|ok_no_final_crlf|not_computed (the device prints one fake G85 on every file: no warning)|mismatch|absent, se_status: ok|mismatch|absent, warnings, reads (each with read_at and read_at_source: captured_at|machine_clock|received)}. Malformed files are stored as rejected with a reason (not an error); the same file again is duplicate, counted once. 404 MACHINE_NOT_FOUND. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.dex_ingest(text, text, text, text, timestamptz) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machines_summary(recent_within interval DEFAULT '4 hours')
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF recent_within IS NULL OR recent_within <= interval '0' OR recent_within > interval '31 days' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'recent_within must be an interval above 0 and up to 31 days',
                             jsonb_build_object('argument', 'recent_within'));
  END IF;
  RETURN dex.machines_summary(recent_within);
END $$;
COMMENT ON FUNCTION api.machines_summary(interval) IS
  'Operator (own company) or admin: the fleet, one entry per machine: location (id, name, address), last read time (last_read_at: the capture time stated at ingest, else the machine''s clock, else the receipt; last_read_time_source says which; last_received_at), firmware, current/target temperature (°C), cash in coin tubes by denomination and the cash box since the last collection (coins to the box + banknotes, minor units), unresolved errors, product count, slots with product names, has_recent_data (a read within recent_within, default 4 hours); and locations: the machines grouped by location. Maintained by each ingest in its own transaction, so current as soon as it commits.';
GRANT EXECUTE ON FUNCTION api.machines_summary(interval) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_details(case_serial text)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  RETURN dex.machine_details(case_serial);
END $$;
COMMENT ON FUNCTION api.machine_details(text) IS
  'Operator (own company) or admin: one machine from its latest accepted read: last_read_at (and its source) and last_received_at, the machine''s clock as it reports it (machine_clock from ID5, ea3_read_time from EA3, zoneless), location, slots (selection, price, product name and category by planogram, catalogue or the file''s PA103, capacity, par level, estimated stock since the last refill, vends and revenue since init and since reset, per payment device), cash (coin tubes; the cash box since the last collection; this read''s CA3/CA4/CA10 figures and bill validator; cashless DA2/DB2), temperatures (°C, raw line kept), errors (unresolved first), audit totals (VA1, CA2, DA2, ...) and the last 10 captures. Money in minor units of the machine''s currency. 404 MACHINE_NOT_FOUND.';
GRANT EXECUTE ON FUNCTION api.machine_details(text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_sales(case_serial text, "from" date, "to" date)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  IF machine_sales."from" IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'from is required (a date)', jsonb_build_object('argument', 'from'));
  END IF;
  IF machine_sales."to" IS NULL OR machine_sales."to" < machine_sales."from" THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'to must be a date on or after from', jsonb_build_object('argument', 'to'));
  END IF;
  IF machine_sales."to" - machine_sales."from" > 366 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'at most 367 days per request', jsonb_build_object('argument', 'to'));
  END IF;
  RETURN dex.machine_sales(case_serial, machine_sales."from", machine_sales."to");
END $$;
COMMENT ON FUNCTION api.machine_sales(text, date, date) IS
  'Operator (own company) or admin: daily sales of one machine for the UTC days from..to (inclusive, at most 367), from the since-init counter deltas between consecutive accepted reads; a read''s sales fall on the UTC day of its time: the capture time given at ingest, else the machine''s clock (EA3 read time, else ID5, a zoneless wall time taken as UTC; not believed before 2001 or over a day after receipt), else the receipt. Per day: vends and revenue (sum over selections, PA2), paid_vends_va1/paid_revenue_va1 (VA1), reads, wraps/resets flagged, and per-selection figures. 404 MACHINE_NOT_FOUND.';
GRANT EXECUTE ON FUNCTION api.machine_sales(text, date, date) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_error_resolve(error_id bigint, note text, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF error_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'error_id is required', jsonb_build_object('argument', 'error_id'));
  END IF;
  IF note IS NULL OR length(btrim(note)) NOT BETWEEN 1 AND 2000 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'note must be 1-2000 characters: what was done',
                             jsonb_build_object('argument', 'note'));
  END IF;
  replay := core.idem_begin('machine_error_resolve', request_id, jsonb_build_object('error_id', error_id, 'note', note));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_error_resolve', request_id, dex.error_resolve(error_id, note));
END $$;
COMMENT ON FUNCTION api.machine_error_resolve(bigint, text, text) IS
  'Operator (own company) or admin: mark a machine error (an MA5 error code or an active EA2 event) resolved with a note. A code that the next read still reports was not fixed: the same error reopens (reopened_at); one that comes back after a read without it is a new error. 404 ERROR_NOT_FOUND; 409 CONFLICT, stored under request_id, if already resolved. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.machine_error_resolve(bigint, text, text) TO operator, admin;

-- The entry points run as dex_service and call the rest of schema dex.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA dex TO dex_service;

CREATE OR REPLACE FUNCTION api.vending_product_upsert(company_id text, product_code text, name text, category text,
                                                      request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF company_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'company_id is required', jsonb_build_object('argument', 'company_id'));
  END IF;
  IF product_code IS NULL OR product_code !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'product_code must be 1-64 of [A-Za-z0-9_.:/-] (starting with a letter or digit)',
                             jsonb_build_object('argument', 'product_code'));
  END IF;
  IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 OR name ~ '[[:cntrl:]]' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 printable characters', jsonb_build_object('argument', 'name'));
  END IF;
  IF category IS NOT NULL AND (length(btrim(category)) NOT BETWEEN 1 AND 100 OR category ~ '[[:cntrl:]]') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'category must be 1-100 printable characters or null',
                             jsonb_build_object('argument', 'category'));
  END IF;
  IF core.request_role() = 'operator' AND company_id IS DISTINCT FROM core.request_company() THEN
    PERFORM core.raise_error('FORBIDDEN', 'an operator keeps the products of its own company only',
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  replay := core.idem_begin('vending_product_upsert', request_id, jsonb_build_object(
    'company_id', company_id, 'product_code', product_code, 'name', name, 'category', category));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('vending_product_upsert', request_id,
                          dex.product_upsert(company_id, product_code, name, category));
END $$;
COMMENT ON FUNCTION api.vending_product_upsert(text, text, text, text, text) IS
  'Admin, or an operator for its own company: create a vending product or rename/recategorise it (keyed by company and product_code; product_code is what the machine reports in PA103 when it reports one). Its name then shows in machine details, sales, summaries and pick lists. 404 COMPANY_NOT_FOUND. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.vending_product_upsert(text, text, text, text, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.vending_products(company_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN dex.products_list(company_id);
END $$;
COMMENT ON FUNCTION api.vending_products(text) IS
  'Operator (own company) or admin (all, or company_id): the vending product catalogue: product_id, company_id, product_code, name, category.';
GRANT EXECUTE ON FUNCTION api.vending_products(text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_planogram_set(case_serial text, slots jsonb, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  replay  jsonb;
  problem text;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  problem := dex.slots_problem(slots, ARRAY['product_code', 'capacity', 'par_level']);
  IF problem IS NOT NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', problem, jsonb_build_object('argument', 'slots'));
  END IF;
  replay := core.idem_begin('machine_planogram_set', request_id,
                            jsonb_build_object('case_serial', case_serial, 'slots', slots));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_planogram_set', request_id, dex.planogram_set(case_serial, slots));
END $$;
COMMENT ON FUNCTION api.machine_planogram_set(text, jsonb, text) IS
  'Operator (own company) or admin: set what selections of a machine hold. slots: [{selection, product_code, capacity, par_level}], each listed selection replaced as a whole (null clears a field; selections not listed keep theirs). The planogram wins over what the file reports (PA1 product and capacity); par_level (at most capacity) puts the slot on the pick list when its estimated stock falls below it. Returns the machine''s resolved slots with name_source planogram|catalogue|file. 404 MACHINE_NOT_FOUND, PRODUCT_NOT_FOUND. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.machine_planogram_set(text, jsonb, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_refill(case_serial text, request_id text, slots jsonb DEFAULT NULL,
                                              "full" boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  replay  jsonb;
  problem text;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  IF machine_refill."full" IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'full must be true or false', jsonb_build_object('argument', 'full'));
  END IF;
  IF slots IS NULL AND NOT machine_refill."full" THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'give slots ([{selection, quantity}]) or full = true',
                             jsonb_build_object('argument', 'slots'));
  END IF;
  IF slots IS NOT NULL THEN
    problem := dex.slots_problem(slots, ARRAY['quantity']);
    IF problem IS NOT NULL THEN
      PERFORM core.raise_error('INVALID_REQUEST', problem, jsonb_build_object('argument', 'slots'));
    END IF;
  END IF;
  replay := core.idem_begin('machine_refill', request_id,
                            jsonb_build_object('case_serial', case_serial, 'slots', slots, 'full', machine_refill."full"));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_refill', request_id, dex.refill(case_serial, slots, machine_refill."full"));
END $$;
COMMENT ON FUNCTION api.machine_refill(text, text, jsonb, boolean) IS
  'Operator (own company) or admin: record a refill. full = true fills every slot with a known capacity (planogram, else PA1) to capacity; slots [{selection, quantity}] gives per slot the count left in it (null = to capacity), and wins over full for the slots it lists. Each slot''s stock is then estimated as this count minus the vends that later reads book (PA2 since-init deltas): read the machine before refilling for the best estimate. 404 MACHINE_NOT_FOUND, SLOT_NOT_FOUND; 400 for a quantity above capacity. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.machine_refill(text, text, jsonb, boolean) TO operator, admin;

CREATE OR REPLACE FUNCTION api.pick_list(location_id bigint DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN dex.pick_list(location_id);
END $$;
COMMENT ON FUNCTION api.pick_list(bigint) IS
  'Operator (own company) or admin (every company): what to bring on the route. Slots whose estimated stock (last refill minus vends since) is below their par level, grouped by location and machine, with bring = capacity - estimate, and the van load summed per product; location_id narrows it to one location. not_estimated lists slots with a par level but no recorded refill. 404 LOCATION_NOT_FOUND.';
GRANT EXECUTE ON FUNCTION api.pick_list(bigint) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_cash_collect(case_serial text, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  replay := core.idem_begin('machine_cash_collect', request_id, jsonb_build_object('case_serial', case_serial));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_cash_collect', request_id, dex.cash_collect(case_serial));
END $$;
COMMENT ON FUNCTION api.machine_cash_collect(text, text) IS
  'Operator (own company) or admin: record that the cash box (coins routed to the box and banknotes) was emptied, against the machine''s latest read - read the machine (DEX) when collecting. Returns what the counters say the box held (expected_coins, expected_bills, expected_total, minor units) to reconcile with what was counted; from then on the fleet summary''s cash_box counts from this read. 404 MACHINE_NOT_FOUND; 409 CONFLICT, stored under request_id, if the machine has no read yet. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.machine_cash_collect(text, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.location_create(company_id text, name text, address text, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF company_id IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'company_id is required', jsonb_build_object('argument', 'company_id'));
  END IF;
  IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 OR name ~ '[[:cntrl:]]' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 printable characters', jsonb_build_object('argument', 'name'));
  END IF;
  IF address IS NOT NULL AND (length(btrim(address)) NOT BETWEEN 1 AND 500 OR address ~ '[\x01-\x09\x0b\x0c\x0e-\x1f\x7f]') THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'address must be 1-500 characters (line breaks allowed) or null',
                             jsonb_build_object('argument', 'address'));
  END IF;
  IF core.request_role() = 'operator' AND company_id IS DISTINCT FROM core.request_company() THEN
    PERFORM core.raise_error('FORBIDDEN', 'an operator creates locations for its own company only',
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  replay := core.idem_begin('location_create', request_id,
                            jsonb_build_object('company_id', company_id, 'name', name, 'address', address));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('location_create', request_id, dex.location_create(company_id, name, address));
END $$;
COMMENT ON FUNCTION api.location_create(text, text, text, text) IS
  'Admin, or an operator for its own company: create a vending location (a place on the route: name unique within the company, address). Machines are put there with machine_assign_location; the fleet summary and the pick list group by location. 404 COMPANY_NOT_FOUND, 409 CONFLICT if the company has a location of that name. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.location_create(text, text, text, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_assign_location(case_serial text, location_id bigint, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE replay jsonb;
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  replay := core.idem_begin('machine_assign_location', request_id,
                            jsonb_build_object('case_serial', case_serial, 'location_id', location_id));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('machine_assign_location', request_id, dex.machine_assign_location(case_serial, location_id));
END $$;
COMMENT ON FUNCTION api.machine_assign_location(text, bigint, text) IS
  'Operator (own company) or admin: move a machine to a location of its own company (location_id null: to none). 404 MACHINE_NOT_FOUND, LOCATION_NOT_FOUND (also for another company''s location). Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.machine_assign_location(text, bigint, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.vending_locations()
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN dex.locations_list();
END $$;
COMMENT ON FUNCTION api.vending_locations() IS
  'Operator (own company) or admin (all): the vending locations with their machines: location_id, company_id, name, address, machines (case serials).';
GRANT EXECUTE ON FUNCTION api.vending_locations() TO operator, admin;
