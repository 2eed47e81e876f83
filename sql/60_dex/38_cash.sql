-- dex: cash to collect. Each read's cash records (CA3 cash in, CA4 paid out, CA10 filled
-- by hand, BA1 the bill validator) are kept per read by dex.book_read_cash, which the
-- ingest calls once per read. "Cash box since the last collection" is the difference of
-- the since-init counters between the latest read and the read a collection was recorded
-- against (wrap-aware, dex.counter_delta): coins routed to the box (CA306) plus banknotes
-- (CA310). Banknote values: CA309/CA310 are always cents; CA304/CA308 are dollars on
-- North-American machines and cents on European ones, so they are used only when the
-- cent fields are missing, scaled for USD/CAD machines.

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['read_cash', 'cash_collections'] LOOP
    EXECUTE format('DROP POLICY IF EXISTS company_rows ON dex.%I', t);
    EXECUTE format('CREATE POLICY company_rows ON dex.%I USING ((SELECT core.sees_all_companies()) OR company_id = (SELECT core.request_company()))', t);
  END LOOP;
END $$;
GRANT SELECT, INSERT ON dex.read_cash, dex.cash_collections TO dex_service;

-- Called by dex.book_read for every read (`seg` = the block's segments ST..SE, `tags` their
-- tags); books nothing when the read has none of CA3, CA4, CA10, BA1.
CREATE OR REPLACE FUNCTION dex.book_read_cash(read_id bigint, m dex.machines, seg text[], tags text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  -- The first line of each record, split.
  ca3   text[] := string_to_array(seg[array_position(tags, 'CA3')], '*');
  ca4   text[] := string_to_array(seg[array_position(tags, 'CA4')], '*');
  ca10  text[] := string_to_array(seg[array_position(tags, 'CA10')], '*');
  ba1   text[] := string_to_array(seg[array_position(tags, 'BA1')], '*');
  -- Dollar banknote fields (CA304/CA308) to minor units on North-American machines.
  scale bigint := CASE WHEN m.currency IN ('USD', 'CAD') THEN (10 ^ m.decimals)::bigint ELSE 1 END;
BEGIN
  IF ca3 IS NULL AND ca4 IS NULL AND ca10 IS NULL AND ba1 IS NULL THEN
    RETURN;
  END IF;
  -- The first line of each record; element k of a record (CA305 = k 5) is e[k + 1].
  INSERT INTO dex.read_cash (read_id, company_id, machine_id, cash_in, coins_to_box, coins_to_tubes, bills_in,
                             dispensed, manually_dispensed, manually_filled, cash_in_reset, coins_to_box_reset,
                             coins_to_tubes_reset, bills_in_reset, dispensed_reset, manually_dispensed_reset,
                             manually_filled_reset, bill_validator)
  VALUES (book_read_cash.read_id, m.company_id, m.id,
          dex.num(ca3[6]), dex.num(ca3[7]), dex.num(ca3[8]),
          coalesce(dex.num(ca3[11]), dex.num(ca3[9]) * scale),
          dex.num(ca4[4]), dex.num(ca4[5]), dex.num(ca10[3]),
          dex.num(ca3[2]), dex.num(ca3[3]), dex.num(ca3[4]),
          coalesce(dex.num(ca3[10]), dex.num(ca3[5]) * scale),
          dex.num(ca4[2]), dex.num(ca4[3]), dex.num(ca10[2]),
          nullif(btrim(concat_ws(' ', btrim(ba1[2]), btrim(ba1[3]))), ''));
END $$;

-- The cash box of a machine since its last collection (before any: since its first read
-- with cash records), from the latest read with cash records.
CREATE OR REPLACE FUNCTION dex.cash_box(machine_id bigint)
RETURNS TABLE (since text, collected_at timestamptz, coins bigint, bills bigint, total bigint, cash_in bigint,
               coins_to_tubes bigint, dispensed bigint, manually_filled bigint, counters text)
LANGUAGE sql STABLE AS $$
  WITH c AS (
    SELECT cc.read_id, cc.collected_at FROM dex.cash_collections cc
     WHERE cc.machine_id = cash_box.machine_id ORDER BY cc.id DESC LIMIT 1
  ), base AS (
    SELECT coalesce(
      (SELECT rc FROM dex.read_cash rc WHERE rc.machine_id = cash_box.machine_id AND rc.read_id <= (SELECT c.read_id FROM c)
        ORDER BY rc.read_id DESC LIMIT 1),
      (SELECT rc FROM dex.read_cash rc WHERE rc.machine_id = cash_box.machine_id ORDER BY rc.read_id LIMIT 1)) AS b
  ), cur AS (
    SELECT rc AS r FROM dex.read_cash rc WHERE rc.machine_id = cash_box.machine_id ORDER BY rc.read_id DESC LIMIT 1
  )
  SELECT CASE WHEN (SELECT c.read_id FROM c) IS NOT NULL THEN 'last_collection' ELSE 'first_read' END,
         (SELECT c.collected_at FROM c),
         bx.delta, bl.delta, bx.delta + bl.delta, ci.delta, tu.delta, di.delta, mf.delta,
         CASE WHEN 'reset' IN (bx.kind, bl.kind) THEN 'reset' WHEN 'wrap' IN (bx.kind, bl.kind) THEN 'wrap'
              WHEN 'unavailable' IN (bx.kind, bl.kind) THEN 'unavailable' ELSE 'normal' END
    FROM cur, base
   CROSS JOIN LATERAL dex.counter_delta((base.b).coins_to_box, (cur.r).coins_to_box) bx
   CROSS JOIN LATERAL dex.counter_delta((base.b).bills_in, (cur.r).bills_in) bl
   CROSS JOIN LATERAL dex.counter_delta((base.b).cash_in, (cur.r).cash_in) ci
   CROSS JOIN LATERAL dex.counter_delta((base.b).coins_to_tubes, (cur.r).coins_to_tubes) tu
   CROSS JOIN LATERAL dex.counter_delta((base.b).dispensed, (cur.r).dispensed) di
   CROSS JOIN LATERAL dex.counter_delta((base.b).manually_filled, (cur.r).manually_filled) mf
$$;

CREATE OR REPLACE FUNCTION dex.cash_box_json(machine_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT jsonb_build_object(
                     'since', b.since, 'last_collected_at', b.collected_at, 'coins', b.coins, 'bills', b.bills,
                     'total', b.total, 'cash_in', b.cash_in, 'coins_to_tubes', b.coins_to_tubes,
                     'dispensed', b.dispensed, 'manually_filled', b.manually_filled, 'counters', b.counters)
                     FROM dex.cash_box(machine_id) b),
                  jsonb_build_object('since', NULL, 'total', NULL))
$$;

-- Record that the cash box was emptied, against the machine's latest read.
CREATE OR REPLACE FUNCTION dex.cash_collect(case_serial text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m       dex.machines;
  last_id bigint;
  box     record;
  coll    dex.cash_collections;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = cash_collect.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', cash_collect.case_serial),
                             jsonb_build_object('case_serial', cash_collect.case_serial));
  END IF;
  SELECT s.last_read_id INTO last_id FROM dex.machine_state s WHERE s.machine_id = m.id FOR NO KEY UPDATE;
  IF last_id IS NULL THEN
    RETURN core.decline('CONFLICT', format('machine %s has no read yet: read it (DEX) when collecting', m.case_serial),
                        jsonb_build_object('case_serial', m.case_serial));
  END IF;
  SELECT * INTO box FROM dex.cash_box(m.id);
  INSERT INTO dex.cash_collections (machine_id, company_id, read_id, collected_by, expected_coins, expected_bills)
  VALUES (m.id, m.company_id, last_id, core.principal(), box.coins, box.bills)
  RETURNING * INTO coll;
  RETURN jsonb_build_object('case_serial', m.case_serial, 'collection_id', coll.id, 'collected_at', coll.collected_at,
                            'read_id', last_id, 'expected_coins', coll.expected_coins,
                            'expected_bills', coll.expected_bills,
                            'expected_total', coll.expected_coins + coll.expected_bills);
END $$;
ALTER FUNCTION dex.cash_collect(text) OWNER TO dex_service;
