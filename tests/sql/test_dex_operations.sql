-- Route operations on top of the DEX reads, in SQL as request roles (tap.call): product
-- names and planograms, stock estimates and pick lists, cash to collect, locations - and
-- that an operator of one company neither sees nor changes another's.
BEGIN;
SELECT plan(70);

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

-- 12. Stock and the pick list: a small fleet worked out by hand.
-- OPS-A1's planogram: A1 capacity 10 par 5, A2 12/4 (Water), A3 6/2. Reads so far: (100, 50, 20), (103, 52, 20).
SELECT is(pg_temp.op('ops-a', $$ SELECT api.machine_refill('OPS-A1', 'ops-f1', NULL, true) $$) -> 'slots',
          '[{"selection": "A1", "product_name": "Cola 0.33 l", "quantity": 10, "capacity": 10, "par_level": 5},
            {"selection": "A2", "product_name": "Water 0.5 l", "quantity": 12, "capacity": 12, "par_level": 4},
            {"selection": "A3", "product_name": null, "quantity": 6, "capacity": 6, "par_level": 2}]'::jsonb,
          'a full refill fills every slot to capacity');
SELECT is(pg_temp.op('ops-a', 'SELECT api.pick_list()') -> 'locations', '[]'::jsonb, 'just refilled: nothing to pick');
-- +6 on A1, +8 on A2, +1 on A3: estimates 4, 4, 5; only A1 (4 < par 5) is due: bring 10 - 4 = 6.
SELECT is(pg_temp.ingest('ops-a', 'OPS-A1', pg_temp.read(109, 60, 21)) ->> 'status', 'accepted', 'third read of A1');
SELECT is(jsonb_array_length(pg_temp.op('ops-a', 'SELECT api.pick_list()') #> '{locations,0,machines,0,slots}'), 1,
          'one slot due: A2 at par is not below it');
SELECT is((pg_temp.op('ops-a', 'SELECT api.pick_list()') #> '{locations,0,machines,0,slots,0}') - 'last_filled_at',
          '{"selection": "A1", "product_code": "COLA33", "product_name": "Cola 0.33 l", "capacity": 10, "par_level": 5,
            "estimate": 4, "bring": 6}'::jsonb, 'A1: 10 filled - 6 sold = 4, below par 5: bring 6');
SELECT is(pg_temp.op('ops-a', $$ SELECT api.machine_refill('OPS-A1', 'ops-f2', '[{"selection": "A2", "quantity": 10}]') $$) #>> '{slots,0,quantity}',
          '10', 'a partial refill of A2 to 10');
-- +1 on A1 (10 - 7 = 3), +7 on A2 (10 - 7 = 3), +4 on A3 (6 - 5 = 1).
SELECT is(pg_temp.ingest('ops-a', 'OPS-A1', pg_temp.read(110, 67, 25)) ->> 'status', 'accepted', 'fourth read of A1');
SELECT is(pg_temp.slot('ops-a', 'OPS-A1', 'A2') ->> 'estimated_stock', '3', 'details show the estimate');
-- OPS-A2 at the Depot: A1 par 5 (capacity 10 from the file), refilled full, then 8 sold: 2 left, bring 8.
SELECT lives_ok($$ SELECT pg_temp.op('ops-a', $q$ SELECT api.machine_register('OPS-A2', 'ops-a', 'Depot', 'Tap Model', 'EUR', 2, 'ops-r-a2') $q$),
                          pg_temp.ingest('ops-a', 'OPS-A2', pg_temp.read(0, 0, 0)),
                          pg_temp.op('ops-a', $q$ SELECT api.machine_planogram_set('OPS-A2', '[{"selection": "A1", "par_level": 5}]', 'ops-g7') $q$),
                          pg_temp.op('ops-a', $q$ SELECT api.machine_refill('OPS-A2', 'ops-f3', NULL, true) $q$),
                          pg_temp.op('ops-a', $q$ SELECT api.machine_planogram_set('OPS-A2', '[{"selection": "A3", "capacity": 5, "par_level": 1}]', 'ops-g8') $q$),
                          pg_temp.ingest('ops-a', 'OPS-A2', pg_temp.read(8, 1, 3)) $$,
                'a second machine at the Depot');
CREATE TEMP TABLE pick AS SELECT pg_temp.op('ops-a', 'SELECT api.pick_list()') AS p;
SELECT is((SELECT jsonb_agg(jsonb_build_array(l ->> 'name', (l ->> 'bring')::int, s ->> 'selection', (s ->> 'estimate')::int,
                                              (s ->> 'bring')::int) ORDER BY l ->> 'name', s ->> 'selection')
             FROM pick, jsonb_array_elements(p -> 'locations') l, jsonb_array_elements(l -> 'machines') mm,
                  jsonb_array_elements(mm -> 'slots') s),
          '[["Depot", 8, "A1", 2, 8], [null, 21, "A1", 3, 7], [null, 21, "A2", 3, 9], [null, 21, "A3", 1, 5]]'::jsonb,
          'the pick list by location: estimates and quantities to bring');
SELECT is((SELECT p -> 'products' FROM pick),
          '[{"company_id": "ops-a", "product_code": "COLA33", "product_name": "Cola 0.33 l", "bring": 15},
            {"company_id": "ops-a", "product_code": "WATER", "product_name": "Water 0.5 l", "bring": 9},
            {"company_id": "ops-a", "product_code": null, "product_name": null, "bring": 5}]'::jsonb,
          'the van load per product');
SELECT is((SELECT p -> 'not_estimated' FROM pick), '[{"case_serial": "OPS-A2", "selection": "A3"}]'::jsonb,
          'a slot with a par level but no refill has no estimate');
SELECT is(pg_temp.op('ops-a', format('SELECT api.pick_list(%s)', (SELECT id FROM dex.locations WHERE name = 'Depot'))) #> '{locations,0,bring}',
          '8'::jsonb, 'one location''s pick list');
SELECT is(pg_temp.op('ops-b', 'SELECT api.pick_list()') -> 'locations', '[]'::jsonb, 'B sees nothing of A''s');
SELECT throws_ok(format($$ SELECT pg_temp.op('ops-b', 'SELECT api.pick_list(%s)') $$, (SELECT id FROM dex.locations WHERE name = 'Depot')),
  'KL000', NULL, 'A''s location is unknown to B');
SELECT throws_ok($$ SELECT pg_temp.op('ops-b', $q$ SELECT api.machine_refill('OPS-A1', 'ops-f4', NULL, true) $q$) $$,
  'KL000', 'MACHINE_NOT_FOUND: no machine with case serial OPS-A1', 'B cannot refill A''s machine');
SELECT throws_ok($$ SELECT pg_temp.op('ops-a', $q$ SELECT api.machine_refill('OPS-A1', 'ops-f5', '[{"selection": "A1", "quantity": 11}]') $q$) $$,
  'KL000', 'INVALID_REQUEST: selection A1: quantity 11 is above its capacity 10', 'not above capacity');
SELECT throws_ok($$ SELECT pg_temp.op('ops-a', $q$ SELECT api.machine_refill('OPS-A1', 'ops-f6', '[{"selection": "Z9", "quantity": 1}]') $q$) $$,
  'KL000', 'SLOT_NOT_FOUND: machine OPS-A1 has no selection Z9 (neither reported nor in its planogram)', 'unknown selection');
SELECT throws_ok($$ SELECT pg_temp.op('ops-a', $q$ SELECT api.machine_refill('OPS-A1', 'ops-f7') $q$) $$,
  'KL000', 'INVALID_REQUEST: give slots ([{selection, quantity}]) or full = true', 'slots or full');

-- 13. Cash to collect: the cash box since the last collection from the since-init counters.
CREATE FUNCTION pg_temp.box(company text, serial text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT pg_temp.op(company, format('SELECT api.machine_details(%L)', serial)) #> '{cash,cash_box}' $$;
SELECT is(pg_temp.ingest('ops-a', 'OPS-A1', pg_temp.read(110, 67, 25, ARRAY['CA3*0*0*0*0*10000*3000*2000*0*0*5000',
            'CA4*0*0*700*0', 'CA10*0*400', 'BA1*BV123*NV9*0100'])) ->> 'status', 'accepted', 'a read with cash records');
SELECT is((SELECT row(cash_in, coins_to_box, coins_to_tubes, bills_in, dispensed, manually_filled, bill_validator)::text
             FROM dex.read_cash rc JOIN dex.machines m ON m.id = rc.machine_id WHERE m.case_serial = 'OPS-A1'),
          '(10000,3000,2000,5000,700,400,"BV123 NV9")', 'CA305-307, CA310, CA403, CA1002 and BA1 per read');
SELECT is(pg_temp.box('ops-a', 'OPS-A1') @> '{"since": "first_read", "total": 0}', true, 'nothing since the first cash read');
-- +200 coins to the box, +300 in banknotes, +100 to the tubes, 50 paid out.
SELECT is(pg_temp.ingest('ops-a', 'OPS-A1', pg_temp.read(110, 67, 25, ARRAY['CA3*600*200*100*0*10600*3200*2100*0*300*5300',
            'CA4*50*0*750*0', 'CA10*0*400'])) ->> 'status', 'accepted', 'a later read');
SELECT is(pg_temp.box('ops-a', 'OPS-A1') - 'last_collected_at',
          '{"since": "first_read", "coins": 200, "bills": 300, "total": 500, "cash_in": 600, "coins_to_tubes": 100,
            "dispensed": 50, "manually_filled": 0, "counters": "normal"}'::jsonb, 'cash box: 200 coins + 300 banknotes');
SELECT is(pg_temp.op('ops-a', $$ SELECT api.machine_cash_collect('OPS-A1', 'ops-c1') $$) ->> 'expected_total', '500',
          'a collection expects what the counters say');
SELECT is(pg_temp.box('ops-a', 'OPS-A1') @> '{"since": "last_collection", "total": 0}', true, 'an empty box after it');
SELECT is(pg_temp.ingest('ops-a', 'OPS-A1', pg_temp.read(110, 67, 25, ARRAY['CA3*0*0*0*0*11150*3250*2100*0*0*5800'])) ->> 'status',
          'accepted', 'a read after the collection');
SELECT is((SELECT x #> '{cash,cash_box,total}' FROM jsonb_array_elements(pg_temp.op('ops-a', 'SELECT api.machines_summary()') -> 'machines') x
            WHERE x ->> 'case_serial' = 'OPS-A1'), '550'::jsonb, 'the summary shows 50 coins + 500 banknotes since');
SELECT throws_ok($$ SELECT pg_temp.op('ops-b', $q$ SELECT api.machine_cash_collect('OPS-A1', 'ops-c2') $q$) $$,
  'KL000', 'MACHINE_NOT_FOUND: no machine with case serial OPS-A1', 'B cannot collect A''s cash');
SELECT is((SELECT count(*) FROM dex.cash_collections), 1::bigint, 'one collection');
-- A US machine without the cent fields: CA308 is dollars.
SELECT is(pg_temp.op('ops-b', $$ SELECT api.machine_register('OPS-B2', 'ops-b', NULL, 'Tap Model', 'USD', 2, 'ops-r-b2') $$)
            ->> 'currency', 'USD', 'a USD machine');
SELECT is(pg_temp.op('ops-b', $$ SELECT api.machine_cash_collect('OPS-B2', 'ops-c3') $$) ->> 'code', 'CONFLICT',
          'no collection against a machine never read');
SELECT is(pg_temp.ingest('ops-b', 'OPS-B2', pg_temp.read(1, 1, 1, ARRAY['CA3*0*0*0*0*1500*300*0*12'])) ->> 'status', 'accepted',
          'a read with banknotes in dollars only');
SELECT is(pg_temp.op('ops-b', $$ SELECT api.machine_details('OPS-B2') $$) #> '{cash,last_read,bills_in}', '1200'::jsonb,
          'CA308 12 dollars = 1200 cents');

-- 14. Locations: created with an address, machines assigned, summaries and pick lists by location.
CREATE TEMP TABLE loc AS
SELECT (pg_temp.op('ops-a', $$ SELECT api.location_create('ops-a', 'Station', E'Bahnhofplatz 1\n8000 Zürich', 'ops-l1') $$) ->> 'location_id')::bigint AS a,
       (pg_temp.op('ops-b', $$ SELECT api.location_create('ops-b', 'Mall', NULL, 'ops-l2') $$) ->> 'location_id')::bigint AS b;
SELECT is(pg_temp.op('ops-a', format('SELECT api.machine_assign_location(%L, %s, %L)', 'OPS-A1', a, 'ops-as1')) ->> 'location', 'Station',
          'A1 moves to the Station') FROM loc;
SELECT is(pg_temp.op('ops-a', $$ SELECT api.machine_details('OPS-A1') $$) ->> 'address', E'Bahnhofplatz 1\n8000 Zürich',
          'details carry the address');
SELECT is((SELECT jsonb_agg(jsonb_build_array(l ->> 'name', l -> 'machines'))
             FROM jsonb_array_elements(pg_temp.op('ops-a', 'SELECT api.machines_summary()') -> 'locations') l),
          '[["Depot", ["OPS-A2"]], ["Station", ["OPS-A1"]]]'::jsonb, 'the summary groups machines by location');
SELECT is((SELECT jsonb_agg(jsonb_build_array(l ->> 'name', l ->> 'address', (l ->> 'bring')::int))
             FROM jsonb_array_elements(pg_temp.op('ops-a', 'SELECT api.pick_list()') -> 'locations') l),
          jsonb_build_array(jsonb_build_array('Depot', NULL, 8), jsonb_build_array('Station', E'Bahnhofplatz 1\n8000 Zürich', 21)),
          'so does the pick list');
SELECT is(pg_temp.op('ops-a', format('SELECT api.pick_list(%s)', a)) #>> '{locations,0,machines,0,case_serial}', 'OPS-A1',
          'the Station''s pick list') FROM loc;
SELECT throws_ok(format($$ SELECT pg_temp.op('ops-b', %L) $$, format('SELECT api.machine_assign_location(%L, %s, %L)', 'OPS-B1', a, 'ops-as2')),
  'KL000', format('LOCATION_NOT_FOUND: company ops-b has no location %s', a), 'B cannot use A''s location') FROM loc;
SELECT throws_ok(format($$ SELECT pg_temp.op('ops-b', %L) $$, format('SELECT api.machine_assign_location(%L, %s, %L)', 'OPS-A1', b, 'ops-as3')),
  'KL000', 'MACHINE_NOT_FOUND: no machine with case serial OPS-A1', 'nor move A''s machine') FROM loc;
SELECT throws_ok(format($$ SELECT pg_temp.adm(%L) $$, format('SELECT api.machine_assign_location(%L, %s, %L)', 'OPS-A1', b, 'ops-as4')),
  'KL000', format('LOCATION_NOT_FOUND: company ops-a has no location %s', b), 'not even admin across companies') FROM loc;
SELECT throws_ok($$ SELECT pg_temp.op('ops-b', $q$ SELECT api.location_create('ops-a', 'X', NULL, 'ops-l3') $q$) $$,
  'KL000', 'FORBIDDEN: an operator creates locations for its own company only', 'B creates no location for A');
SELECT throws_ok($$ SELECT pg_temp.op('ops-a', $q$ SELECT api.location_create('ops-a', 'Station', NULL, 'ops-l4') $q$) $$,
  'KL000', 'CONFLICT: company ops-a already has a location named Station', 'names are unique within a company');
SELECT is(pg_temp.op('ops-b', 'SELECT api.vending_locations()'),
          (SELECT jsonb_build_array(jsonb_build_object('location_id', b, 'company_id', 'ops-b', 'name', 'Mall', 'address', NULL,
                                                       'machines', '[]'::jsonb)) FROM loc), 'B lists its own locations only');
SELECT is(pg_temp.op('ops-a', $$ SELECT api.machine_assign_location('OPS-A2', NULL, 'ops-as5') $$) ->> 'location_id', NULL,
          'a machine can leave its location');

SELECT * FROM finish();
ROLLBACK;
