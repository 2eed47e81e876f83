-- The DEX ingest end to end in SQL, as request roles (tap.call), and the row-level
-- security that separates companies - including why it really applies.
BEGIN;
SELECT plan(42);

CREATE FUNCTION pg_temp.adm(query text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('admin', '{"sub": "tap-admin"}', query) $$;
CREATE FUNCTION pg_temp.op(company text, query text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('operator', jsonb_build_object('sub', 'tap-op-' || company, 'company_id', company), query) $$;

-- Two reads of one selection. G85 values worked out with an independent CRC-16/ARC
-- (tests/fixtures/dex/make_fixtures.py); SE01 counts ST..SE.
CREATE TEMP TABLE f AS SELECT
  array_to_string(ARRAY['DXS*RST7654321*VA*V1/1*1', 'ST*001*0001', 'ID1*TAP0001*TAP MODEL', 'ID4*2*1978*EUR',
    'VA1*300*2*300*2', 'CA2*300*2*300*2', 'PA1*A1*150*', 'PA2*2*300*2*300', 'MA5*TEMP*-05*C*DC', 'MA5*ERROR*CJ06',
    'G85*B858', 'SE*11*0001', 'DXE*1*1'], E'\n') || E'\n' AS read1,
  array_to_string(ARRAY['DXS*RST7654321*VA*V1/1*1', 'ST*001*0001', 'ID1*TAP0001*TAP MODEL', 'ID4*2*1978*EUR',
    'VA1*750*5*450*3', 'CA2*750*5*450*3', 'PA1*A1*150*', 'PA2*5*750*3*450',
    'G85*5F09', 'SE*9*0001', 'DXE*1*1'], E'\r\n') || E'\r\n' AS read2;

SELECT lives_ok($$ SELECT pg_temp.adm($q$ SELECT api.company_create('tap-a', 'Tap A', 'tap-co-a') $q$),
                          pg_temp.adm($q$ SELECT api.company_create('tap-b', 'Tap B', 'tap-co-b') $q$) $$,
                'admin creates two companies');
SELECT is(pg_temp.op('tap-a', $$ SELECT api.machine_register('TAP-A1', 'tap-a', 'Lobby', 'Tap Model', 'EUR', 2, 'tap-reg-a1') $$)
            ->> 'case_serial', 'TAP-A1', 'an operator registers a machine for its own company');
SELECT is(pg_temp.adm($$ SELECT api.machine_register('TAP-B1', 'tap-b', NULL, 'Tap Model', 'EUR', 2, 'tap-reg-b1') $$)
            ->> 'company_id', 'tap-b', 'admin registers for any company');
SELECT throws_ok($$ SELECT pg_temp.op('tap-b', $q$ SELECT api.machine_register('TAP-B2', 'tap-a', NULL, 'M', 'EUR', 2, 'x1') $q$) $$,
  'KL000', 'FORBIDDEN: an operator registers machines for its own company only', 'not for another company');
SELECT throws_ok($$ SELECT pg_temp.op('tap-b', $q$ SELECT api.machine_register('TAP-A1', 'tap-b', NULL, 'M', 'EUR', 2, 'x2') $q$) $$,
  'KL000', 'CONFLICT: case serial TAP-A1 is already registered', 'a case serial is unique');
SELECT throws_ok($$ SELECT pg_temp.adm($q$ SELECT api.machine_register('TAP-C1', 'tap-nope', NULL, 'M', 'EUR', 2, 'x3') $q$) $$,
  'KL000', 'COMPANY_NOT_FOUND: company tap-nope does not exist', 'unknown company');
SELECT throws_ok($$ SELECT pg_temp.op('tap-a', $q$ SELECT api.company_create('tap-x', 'X', 'x4') $q$) $$,
  '42501', NULL, 'operators cannot create companies');

-- First read: accepted, CRC and SE verified, everything derived.
CREATE TEMP TABLE r1 AS
SELECT pg_temp.op('tap-a', format('SELECT api.dex_ingest(%L, %L, %L, %L)', 'TAP-A1', read1, 'tap', 'tap-in-1')) AS res FROM f;
SELECT is(res ->> 'status', 'accepted', 'first read accepted') FROM r1;
SELECT is(res ->> 'crc_status', 'ok', 'G85 verifies on an LF file (CRLF-normalised)') FROM r1;
SELECT is(res ->> 'se_status', 'ok', 'SE count verifies') FROM r1;
SELECT is(jsonb_array_length(res -> 'reads'), 1, 'one block, one read') FROM r1;
SELECT is((SELECT raw FROM dex.captures WHERE id = (res ->> 'capture_id')::bigint), read1, 'the raw file is kept') FROM r1, f;
SELECT is((SELECT parser_version FROM dex.captures WHERE id = (res ->> 'capture_id')::bigint), dex.parser_version(),
          'with its parser version') FROM r1;
SELECT results_eq(format('SELECT selection, price, vends_init, value_init FROM dex.read_selections WHERE read_id = %s',
                         res -> 'reads' -> 0 ->> 'read_id'),
                  $$ VALUES ('A1', 150::bigint, 2::bigint, 300::bigint) $$, 'PA1/PA2: count before value') FROM r1;
SELECT is((SELECT celsius FROM dex.read_temperatures WHERE read_id = (res -> 'reads' -> 0 ->> 'read_id')::bigint),
          -0.50, 'negative temperature decoded') FROM r1;
SELECT is((SELECT code FROM dex.machine_errors e JOIN dex.machines m ON m.id = e.machine_id WHERE m.case_serial = 'TAP-A1'),
          'CJ06', 'MA5*ERROR recorded as an unresolved error');

-- The same file again: duplicate, counted once.
SELECT is(pg_temp.op('tap-a', format('SELECT api.dex_ingest(%L, %L, %L, %L)', 'TAP-A1', read1, 'tap', 'tap-in-1b')) ->> 'status',
          'duplicate', 'the same file again is a duplicate') FROM f;
SELECT is((SELECT count(*) FROM dex.captures c JOIN dex.machines m ON m.id = c.machine_id WHERE m.case_serial = 'TAP-A1'),
          1::bigint, 'stored once');
SELECT is(pg_temp.op('tap-a', format('SELECT api.dex_ingest(%L, %L, %L, %L)', 'TAP-A1', read1, 'tap', 'tap-in-1')) ->> 'capture_id',
          (SELECT res ->> 'capture_id' FROM r1), 'same request_id: the stored answer') FROM f;
SELECT is(current_setting('response.replayed', true), 'true', 'flagged as a replay');

-- Second read (CRLF): sales are the since-init deltas.
CREATE TEMP TABLE r2 AS
SELECT pg_temp.op('tap-a', format('SELECT api.dex_ingest(%L, %L, %L, %L)', 'TAP-A1', read2, 'tap', 'tap-in-2')) AS res FROM f;
SELECT is(res ->> 'crc_status', 'ok', 'second read (CRLF) verifies') FROM r2;
SELECT results_eq(format('SELECT selection, vends, revenue, kind FROM dex.sales_deltas WHERE read_id = %s',
                         res -> 'reads' -> 0 ->> 'read_id'),
                  $$ VALUES ('A1', 3::bigint, 450::bigint, 'normal') $$, '3 vends, 450 between the reads') FROM r2;
SELECT is((res -> 'reads' -> 0 ->> 'revenue_delta')::bigint, 450::bigint, 'VA1 delta agrees') FROM r2;
SELECT is(pg_temp.op('tap-a', $$ SELECT api.machine_details('TAP-A1') $$) -> 'slots' -> 0 ->> 'vends', '5',
          'details show the latest read');

-- Malformed input is stored as rejected, never an error.
CREATE TEMP TABLE r3 AS
SELECT pg_temp.op('tap-a', $$ SELECT api.dex_ingest('TAP-A1', 'HELLO' || chr(10) || 'WORLD', 'tap', 'tap-in-3') $$) AS res;
SELECT is(res ->> 'status', 'rejected', 'garbage is rejected') FROM r3;
SELECT is(res ->> 'reject_reason', 'no DXS header: not a DEX audit file', 'with a reason') FROM r3;
SELECT is((SELECT status FROM dex.captures WHERE id = (res ->> 'capture_id')::bigint), 'rejected', 'and stored') FROM r3;

-- Company B sees and touches nothing of company A, through every function.
SELECT throws_ok($$ SELECT pg_temp.op('tap-b', $q$ SELECT api.machine_details('TAP-A1') $q$) $$,
  'KL000', 'MACHINE_NOT_FOUND: no machine with case serial TAP-A1', 'B cannot read A''s machine');
SELECT throws_ok($$ SELECT pg_temp.op('tap-b', $q$ SELECT api.machine_sales('TAP-A1', '2020-01-01', '2020-01-02') $q$) $$,
  'KL000', 'MACHINE_NOT_FOUND: no machine with case serial TAP-A1', 'B cannot read A''s sales');
SELECT throws_ok(format($$ SELECT pg_temp.op('tap-b', format('SELECT api.dex_ingest(%%L, %%L, %%L, %%L)', 'TAP-A1', %L, 'tap', 'tap-b-in')) $$, read2),
  'KL000', 'MACHINE_NOT_FOUND: no machine with case serial TAP-A1', 'B cannot ingest for A') FROM f;
SELECT throws_like(format($$ SELECT pg_temp.op('tap-b', 'SELECT api.machine_error_resolve(%s, ''fixed'', ''tap-b-res'')') $$,
                          (SELECT e.id FROM dex.machine_errors e JOIN dex.machines m ON m.id = e.machine_id WHERE m.case_serial = 'TAP-A1')),
  'ERROR_NOT_FOUND: no machine error %', 'B cannot resolve A''s error');
SELECT is(pg_temp.op('tap-b', $$ SELECT api.machines_summary() $$) -> 'machines',
          jsonb_build_array(pg_temp.op('tap-b', $$ SELECT api.machines_summary() $$) -> 'machines' -> 0),
          'B''s summary has one machine');
SELECT is(pg_temp.op('tap-b', $$ SELECT api.machines_summary() $$) -> 'machines' -> 0 ->> 'case_serial', 'TAP-B1', '... its own');
SELECT is(pg_temp.op('nobody', $$ SELECT api.machines_summary() $$) -> 'machines', '[]'::jsonb,
          'an operator of an unknown company sees no machine');
SELECT ok((SELECT count(*) FROM jsonb_array_elements(pg_temp.adm($$ SELECT api.machines_summary() $$) -> 'machines') m
            WHERE m ->> 'case_serial' IN ('TAP-A1', 'TAP-B1')) = 2, 'admin sees both companies');

-- Why it holds: every dex table is reached through dex.* entry points that run as
-- dex_service, which row-level security applies to; the api wrappers touch no dex table.
SELECT is_empty($$ SELECT p.oid::regprocedure FROM pg_proc p
                    WHERE p.pronamespace = 'dex'::regnamespace AND p.proname IN
                          ('ingest', 'company_create', 'machine_register', 'error_resolve', 'machines_summary',
                           'machine_details', 'machine_sales')
                      AND (p.proowner <> 'dex_service'::regrole OR NOT p.prosecdef) $$,
                'the dex entry points are SECURITY DEFINER owned by dex_service');
SELECT is_empty($$ SELECT p.oid::regprocedure FROM pg_proc p
                    WHERE p.pronamespace = 'api'::regnamespace AND p.prosrc ~ '\mdex\.'
                      AND p.prosrc ~ ('\mdex\.(' || (SELECT string_agg(relname, '|') FROM pg_class
                                                       WHERE relnamespace = 'dex'::regnamespace AND relkind IN ('r', 'v'))
                                      || ')\M') $$,
                'no api function reads or writes a dex table or view itself');
SELECT ok((SELECT NOT rolsuper AND NOT rolbypassrls FROM pg_roles WHERE rolname = 'dex_service'),
          'dex_service is no superuser and cannot bypass row-level security');
SELECT is_empty($$ SELECT c.oid::regclass FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'company_id'
                    WHERE c.relnamespace = 'dex'::regnamespace AND c.relkind = 'r'
                      AND (NOT c.relrowsecurity OR c.relowner = 'dex_service'::regrole
                           OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)) $$,
                'every dex table with company data has row-level security, a policy, and another owner');
SELECT is_empty($$ SELECT r FROM unnest(ARRAY['anon', 'kiosk', 'staff', 'operator', 'admin']) r
                    WHERE has_schema_privilege(r, 'dex', 'USAGE') $$,
                'no request role can use schema dex: only the api functions reach it');
-- The trap, demonstrated (the grant below exists only inside this rolled-back test): the same definer function sees everything when a superuser owns it.
CREATE FUNCTION pg_temp.count_machines() RETURNS bigint LANGUAGE sql SECURITY DEFINER
  AS $$ SELECT count(*) FROM dex.machines WHERE case_serial IN ('TAP-A1', 'TAP-B1') $$;
GRANT EXECUTE ON FUNCTION pg_temp.count_machines() TO operator;
GRANT USAGE ON SCHEMA dex TO operator;
SELECT is(pg_temp.op('tap-b', 'SELECT to_jsonb(pg_temp.count_machines())'), '2'::jsonb,
          'owned by a superuser, a definer function bypasses the policies');
ALTER FUNCTION pg_temp.count_machines() OWNER TO dex_service;
SELECT is(pg_temp.op('tap-b', 'SELECT to_jsonb(pg_temp.count_machines())'), '1'::jsonb,
          'owned by dex_service, the same function sees company B only');

SELECT * FROM finish();
ROLLBACK;
