-- Route operations on top of the DEX reads, in SQL as request roles (tap.call): product
-- names and planograms, stock estimates and pick lists, cash to collect, locations - and
-- that an operator of one company neither sees nor changes another's.
BEGIN;
SELECT plan(24);

CREATE FUNCTION pg_temp.adm(query text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('admin', '{"sub": "tap-admin"}', query) $$;
CREATE FUNCTION pg_temp.op(company text, query text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT tap.call('operator', jsonb_build_object('sub', 'tap-op-' || company, 'company_id', company), query) $$;
-- A DEX block without G85 (accepted with crc_status absent); SE01 counts ST..SE.
CREATE FUNCTION pg_temp.dex(records text[]) RETURNS text LANGUAGE sql AS $$
  SELECT array_to_string(ARRAY['DXS*RST7654321*VA*V1/1*1', 'ST*001*0001'] || records
                         || ARRAY[format('SE*%s*0001', cardinality(records) + 2), 'DXE*1*1'], E'\r\n') || E'\r\n' $$;
CREATE FUNCTION pg_temp.ingest(company text, serial text, raw text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT pg_temp.op(company, format('SELECT api.dex_ingest(%L, %L, %L, %L)', serial, raw, 'tap', 'tap-in-' || md5(raw))) $$;
-- Selections A1 (file says COLA33), A2 (file carries a name), A3 (nothing).
CREATE FUNCTION pg_temp.read(a1 int, a2 int, a3 int, extra text[] DEFAULT '{}') RETURNS text LANGUAGE sql AS $$
  SELECT pg_temp.dex(ARRAY['ID1*TAP0002*TAP MODEL', 'ID4*2*1978*EUR',
    format('VA1*%s*%s*0*0', a1 * 150 + a2 * 100 + a3 * 120, a1 + a2 + a3),
    'PA1*A1*150*COLA33*10', format('PA2*%s*%s*0*0', a1, a1 * 150),
    'PA1*A2*100*Chips Paprika*8', format('PA2*%s*%s*0*0', a2, a2 * 100),
    'PA1*A3*120*', format('PA2*%s*%s*0*0', a3, a3 * 120)] || extra) $$;

SELECT lives_ok($$ SELECT pg_temp.adm($q$ SELECT api.company_create('ops-a', 'Ops A', 'ops-co-a') $q$),
                          pg_temp.adm($q$ SELECT api.company_create('ops-b', 'Ops B', 'ops-co-b') $q$),
                          pg_temp.op('ops-a', $q$ SELECT api.machine_register('OPS-A1', 'ops-a', NULL, 'Tap Model', 'EUR', 2, 'ops-r-a1') $q$),
                          pg_temp.op('ops-b', $q$ SELECT api.machine_register('OPS-B1', 'ops-b', NULL, 'Tap Model', 'EUR', 2, 'ops-r-b1') $q$) $$,
                'two companies, a machine each');
SELECT is(pg_temp.ingest('ops-a', 'OPS-A1', pg_temp.read(100, 50, 20)) ->> 'status', 'accepted', 'first read of A1');
SELECT is(pg_temp.ingest('ops-b', 'OPS-B1', pg_temp.read(7, 7, 7)) ->> 'status', 'accepted', 'first read of B1');

-- 11. Products and planogram.
CREATE FUNCTION pg_temp.slot(company text, serial text, sel text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT s FROM jsonb_array_elements(pg_temp.op(company, format('SELECT api.machine_details(%L)', serial)) -> 'slots') s
   WHERE s ->> 'selection' = sel $$;
SELECT is(pg_temp.slot('ops-a', 'OPS-A1', 'A2') ->> 'product_name', 'Chips Paprika', 'without a catalogue the file''s PA103 names the slot');
SELECT is(pg_temp.slot('ops-a', 'OPS-A1', 'A2') ->> 'name_source', 'file', '... and says so');
SELECT is(pg_temp.op('ops-a', $$ SELECT api.vending_product_upsert('ops-a', 'COLA33', 'Cola 0.33 l', 'drinks', 'ops-p1') $$) ->> 'name',
          'Cola 0.33 l', 'an operator adds a product to its catalogue');
SELECT is(pg_temp.slot('ops-a', 'OPS-A1', 'A1') - 'by_device' @> '{"product_name": "Cola 0.33 l", "category": "drinks", "name_source": "catalogue", "capacity": 10}',
          true, 'the catalogue names the code the file reports');
SELECT lives_ok($$ SELECT pg_temp.op('ops-a', $q$ SELECT api.vending_product_upsert('ops-a', 'WATER', 'Water 0.5 l', NULL, 'ops-p2') $q$) $$,
                'a second product');
SELECT is(pg_temp.op('ops-a', $$ SELECT api.machine_planogram_set('OPS-A1',
            '[{"selection": "A2", "product_code": "WATER", "capacity": 12, "par_level": 4},
              {"selection": "A1", "product_code": null, "capacity": 10, "par_level": 5},
              {"selection": "A3", "capacity": 6, "par_level": 2}]', 'ops-g1') $$) -> 'slots' -> 1
          @> '{"selection": "A2", "product_name": "Water 0.5 l", "capacity": 12, "par_level": 4, "name_source": "planogram"}',
          true, 'the planogram wins over the file');
SELECT is(pg_temp.slot('ops-a', 'OPS-A1', 'A1') ->> 'product_name', 'Cola 0.33 l', 'a planogram entry without a product keeps the file''s');
SELECT is(pg_temp.slot('ops-a', 'OPS-A1', 'A2') ->> 'par_level', '4', 'details show the par level');
SELECT throws_ok($$ SELECT pg_temp.op('ops-b', $q$ SELECT api.vending_product_upsert('ops-a', 'X1', 'X', NULL, 'ops-p3') $q$) $$,
  'KL000', 'FORBIDDEN: an operator keeps the products of its own company only', 'not into another company''s catalogue');
SELECT throws_ok($$ SELECT pg_temp.op('ops-b', $q$ SELECT api.machine_planogram_set('OPS-A1', '[{"selection": "A1", "capacity": 1}]', 'ops-g2') $q$) $$,
  'KL000', 'MACHINE_NOT_FOUND: no machine with case serial OPS-A1', 'nor on another company''s machine');
SELECT throws_ok($$ SELECT pg_temp.op('ops-b', $q$ SELECT api.machine_planogram_set('OPS-B1', '[{"selection": "A1", "product_code": "WATER"}]', 'ops-g3') $q$) $$,
  'KL000', 'PRODUCT_NOT_FOUND: no product WATER in company ops-b', 'another company''s product is unknown');
SELECT is(pg_temp.op('ops-b', $$ SELECT api.vending_products() $$), '[]'::jsonb, 'B sees none of A''s products');
SELECT is(jsonb_array_length(pg_temp.adm($$ SELECT api.vending_products('ops-a') $$)), 2, 'admin sees A''s');
SELECT throws_ok($$ SELECT pg_temp.op('ops-a', $q$ SELECT api.machine_planogram_set('OPS-A1', '[{"selection": "A1", "capacity": 3, "par_level": 4}]', 'ops-g4') $q$) $$,
  'KL000', 'INVALID_REQUEST: selection A1: par_level above capacity', 'par above capacity is a 400');
SELECT throws_ok($$ SELECT pg_temp.op('ops-a', $q$ SELECT api.machine_planogram_set('OPS-A1', '[{"selection": "A1"}, {"selection": "A1"}]', 'ops-g5') $q$) $$,
  'KL000', 'INVALID_REQUEST: selection A1 is listed twice', 'a selection once per list');
SELECT throws_ok($$ SELECT pg_temp.op('ops-a', $q$ SELECT api.machine_planogram_set('OPS-A1', '[{"selection": "A1", "capacity": 1.5}]', 'ops-g6') $q$) $$,
  'KL000', 'INVALID_REQUEST: capacity must be a whole number 0..10000 or null', 'whole numbers only');
SELECT is(pg_temp.ingest('ops-a', 'OPS-A1', pg_temp.read(103, 52, 20)) ->> 'status', 'accepted', 'second read of A1');
SELECT is((SELECT s FROM jsonb_array_elements(pg_temp.op('ops-a', format('SELECT api.machine_sales(%L, %L, %L)', 'OPS-A1',
                                   current_date, current_date)) -> 'days' -> 0 -> 'selections') s WHERE s ->> 'selection' = 'A2'),
          '{"selection": "A2", "product_code": "WATER", "product_name": "Water 0.5 l", "vends": 2, "revenue": 200}'::jsonb,
          'sales carry the product names');
SELECT is((SELECT x -> 'slots' -> 0 FROM jsonb_array_elements(pg_temp.op('ops-a', 'SELECT api.machines_summary()') -> 'machines') x),
          '{"selection": "A1", "product_code": "COLA33", "product_name": "Cola 0.33 l"}'::jsonb, 'and so does the summary');
SELECT is(jsonb_array_length(pg_temp.op('ops-b', 'SELECT api.machines_summary()') -> 'machines'), 1, 'B''s summary has B''s machine only');
SELECT is((SELECT count(*) FROM dex.planogram WHERE company_id = 'ops-a'), 3::bigint, 'three planogram rows');

SELECT * FROM finish();
ROLLBACK;
