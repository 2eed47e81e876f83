-- api: vending telemetry (DEX). Thin wrappers: argument checks, idempotency, then one
-- call into a dex.* entry point. They never read or write a dex table themselves: the
-- entry points run as dex_service, under the company policies (sql/60_dex/20_security.sql),
-- while these wrappers, like every api function, run as the migrating superuser, which
-- row-level security does not apply to.

CREATE OR REPLACE FUNCTION api.company_create(company_id text, name text, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
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
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
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

CREATE OR REPLACE FUNCTION api.dex_ingest(case_serial text, raw text, source text, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
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
  -- The file's hash stands for the file in the idempotency payload. An unknown (or
  -- another company's) machine raises MACHINE_NOT_FOUND below, which also drops the key.
  replay := core.idem_begin('dex_ingest', request_id, jsonb_build_object(
    'case_serial', case_serial, 'sha256', encode(sha256(convert_to(raw, 'UTF8')), 'hex'), 'source', source));
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  RETURN core.idem_finish('dex_ingest', request_id, dex.ingest(case_serial, raw, source));
END $$;
COMMENT ON FUNCTION api.dex_ingest(text, text, text, text) IS
  'Operator of the machine''s company, or admin: ingest one DEX/EVA-DTS file for the machine with this case serial; the SQL parses it (LF/CRLF/CR, several DXS blocks, G85 CRC-16 and SE checks). Returns {capture_id, status: accepted|rejected|duplicate, reject_reason, crc_status: ok|ok_swapped|ok_no_final_crlf|mismatch|absent, se_status: ok|mismatch|absent, warnings, reads}. Malformed files are stored as rejected with a reason (not an error); the same file again is duplicate, counted once. 404 MACHINE_NOT_FOUND. Idempotent on request_id.';
GRANT EXECUTE ON FUNCTION api.dex_ingest(text, text, text, text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machines_summary(recent_within interval DEFAULT '4 hours')
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF recent_within IS NULL OR recent_within <= interval '0' OR recent_within > interval '31 days' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'recent_within must be an interval above 0 and up to 31 days',
                             jsonb_build_object('argument', 'recent_within'));
  END IF;
  RETURN dex.machines_summary(recent_within);
END $$;
COMMENT ON FUNCTION api.machines_summary(interval) IS
  'Operator (own company) or admin: the fleet, one entry per machine: last read time, firmware, current/target temperature (°C), cash in coin tubes by denomination (minor units), unresolved errors, product count, has_recent_data (a read within recent_within, default 4 hours). Maintained by each ingest in its own transaction, so current as soon as it commits.';
GRANT EXECUTE ON FUNCTION api.machines_summary(interval) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_details(case_serial text)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF case_serial IS NULL THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'case_serial is required', jsonb_build_object('argument', 'case_serial'));
  END IF;
  RETURN dex.machine_details(case_serial);
END $$;
COMMENT ON FUNCTION api.machine_details(text) IS
  'Operator (own company) or admin: one machine from its latest accepted read: slots (selection, price, vends and revenue since init and since reset, per payment device), cash in coin tubes, temperatures (°C, raw line kept), errors (unresolved first), audit totals (VA1, CA2, DA2, ...) and the last 10 captures. Money in minor units of the machine''s currency. 404 MACHINE_NOT_FOUND.';
GRANT EXECUTE ON FUNCTION api.machine_details(text) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_sales(case_serial text, "from" date, "to" date)
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
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
  'Operator (own company) or admin: daily sales of one machine for the UTC days from..to (inclusive, at most 367), from the since-init counter deltas between consecutive accepted reads; a read''s sales fall on the day it was received. Per day: vends and revenue (sum over selections, PA2), paid_vends_va1/paid_revenue_va1 (VA1), reads, wraps/resets flagged, and per-selection figures. 404 MACHINE_NOT_FOUND.';
GRANT EXECUTE ON FUNCTION api.machine_sales(text, date, date) TO operator, admin;

CREATE OR REPLACE FUNCTION api.machine_error_resolve(error_id bigint, note text, request_id text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
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
