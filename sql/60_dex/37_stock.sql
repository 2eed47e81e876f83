-- dex: stock estimates and what to pick. A route driver records a refill (every slot to
-- capacity, or per slot the count it left in the slot); each slot's stock is then that
-- count minus the vends booked by the reads after it (PA2 since-init deltas,
-- dex.sales_deltas), never below 0. A slot below its par level (planogram) goes on the
-- pick list with capacity - estimate to bring. A slot never refilled has no estimate: the
-- machine does not report stock, and guessing would send drivers out with wrong loads.
-- Vends between the latest read and the refill count against the refill, so a driver who
-- reads the machine (DEX) before refilling gets the best estimate.

DROP POLICY IF EXISTS company_rows ON dex.slot_fills;
CREATE POLICY company_rows ON dex.slot_fills
  USING ((SELECT core.sees_all_companies()) OR company_id = (SELECT core.request_company()));
GRANT SELECT, INSERT ON dex.slot_fills TO dex_service;

CREATE OR REPLACE FUNCTION dex.slot_stock(machine_id bigint)
RETURNS TABLE (selection text, product_id bigint, product_code text, product_name text, category text,
               capacity bigint, par_level bigint, name_source text, filled_quantity bigint, filled_at timestamptz,
               vends_since bigint, estimate bigint)
LANGUAGE sql STABLE AS $$
  SELECT sp.selection, sp.product_id, sp.product_code, sp.product_name, sp.category, sp.capacity, sp.par_level,
         sp.name_source, f.quantity, f.filled_at, v.vends,
         -- greatest() skips NULLs: a slot never refilled must stay without an estimate, not 0.
         CASE WHEN f.quantity IS NOT NULL THEN greatest(f.quantity - v.vends, 0) END
    FROM dex.slot_products(machine_id) sp
    LEFT JOIN LATERAL (SELECT f.quantity::bigint AS quantity, f.filled_at, f.after_read_id
                         FROM dex.slot_fills f
                        WHERE f.machine_id = slot_stock.machine_id AND f.selection = sp.selection
                        ORDER BY f.id DESC LIMIT 1) f ON true
    LEFT JOIN LATERAL (SELECT coalesce(sum(sd.vends), 0)::bigint AS vends
                         FROM dex.sales_deltas sd
                        WHERE sd.machine_id = slot_stock.machine_id AND sd.selection = sp.selection
                          AND sd.read_id > coalesce(f.after_read_id, 0)) v ON f.quantity IS NOT NULL
$$;

-- Record a refill. `slots` (checked by the api wrapper) lists {selection, quantity}:
-- quantity is what the slot holds after the visit, null = to capacity; `full` fills every
-- slot with a known capacity, the listed ones as listed.
CREATE OR REPLACE FUNCTION dex.refill(case_serial text, slots jsonb, "full" boolean) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m        dex.machines;
  last_id  bigint;
  wanted   jsonb;
  bad      record;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = refill.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', refill.case_serial),
                             jsonb_build_object('case_serial', refill.case_serial));
  END IF;
  -- Same lock as the ingest: "the latest read" cannot move while the fill is recorded.
  SELECT s.last_read_id INTO last_id FROM dex.machine_state s WHERE s.machine_id = m.id FOR NO KEY UPDATE;
  WITH listed AS (
    SELECT e ->> 'selection' AS selection, (e ->> 'quantity')::bigint AS quantity
      FROM jsonb_array_elements(coalesce(slots, '[]'::jsonb)) e
  ), want AS (
    SELECT l.selection, l.quantity FROM listed l
    UNION ALL
    SELECT sp.selection, NULL FROM dex.slot_products(m.id) sp
     WHERE refill."full" AND sp.capacity IS NOT NULL AND sp.selection NOT IN (SELECT l.selection FROM listed l)
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'selection', w.selection, 'quantity', coalesce(w.quantity, sp.capacity), 'capacity', sp.capacity,
           'known', sp.selection IS NOT NULL) ORDER BY w.selection), '[]')
    INTO wanted
    FROM want w LEFT JOIN dex.slot_products(m.id) sp ON sp.selection = w.selection;
  SELECT * INTO bad FROM jsonb_to_recordset(wanted) AS r (selection text, quantity bigint, capacity bigint, known boolean)
   WHERE NOT r.known LIMIT 1;
  IF FOUND THEN
    PERFORM core.raise_error('SLOT_NOT_FOUND', format('machine %s has no selection %s (neither reported nor in its planogram)',
                                                      m.case_serial, bad.selection),
                             jsonb_build_object('case_serial', m.case_serial, 'selection', bad.selection));
  END IF;
  SELECT * INTO bad FROM jsonb_to_recordset(wanted) AS r (selection text, quantity bigint, capacity bigint, known boolean)
   WHERE r.quantity IS NULL OR r.quantity > r.capacity LIMIT 1;
  IF FOUND THEN
    PERFORM core.raise_error('INVALID_REQUEST',
      CASE WHEN bad.quantity IS NULL THEN format('selection %s has no known capacity: give its quantity', bad.selection)
           ELSE format('selection %s: quantity %s is above its capacity %s', bad.selection, bad.quantity, bad.capacity) END,
      jsonb_build_object('argument', 'slots', 'selection', bad.selection));
  END IF;
  IF jsonb_array_length(wanted) = 0 THEN
    PERFORM core.raise_error('INVALID_REQUEST', format('machine %s has no slot with a known capacity to fill: list the slots',
                                                       m.case_serial),
                             jsonb_build_object('argument', 'full'));
  END IF;
  INSERT INTO dex.slot_fills (machine_id, company_id, selection, quantity, after_read_id, filled_by)
  SELECT m.id, m.company_id, r.selection, r.quantity::integer, last_id, core.principal()
    FROM jsonb_to_recordset(wanted) AS r (selection text, quantity bigint);
  RETURN jsonb_build_object('case_serial', m.case_serial, 'after_read_id', last_id, 'slots', (
    SELECT jsonb_agg(jsonb_build_object('selection', s.selection, 'product_name', s.product_name,
                                        'quantity', s.filled_quantity, 'capacity', s.capacity,
                                        'par_level', s.par_level) ORDER BY s.selection)
      FROM dex.slot_stock(m.id) s
     WHERE s.selection IN (SELECT r.selection FROM jsonb_to_recordset(wanted) AS r (selection text))));
END $$;
ALTER FUNCTION dex.refill(text, jsonb, boolean) OWNER TO dex_service;

-- Slots below par with what to bring, by location and machine, plus the van load per
-- product. Under the policies: an operator's company, admin every company.
CREATE OR REPLACE FUNCTION dex.pick_list(location_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF location_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dex.locations l WHERE l.id = pick_list.location_id) THEN
    PERFORM core.raise_error('LOCATION_NOT_FOUND', format('no location %s', pick_list.location_id),
                             jsonb_build_object('location_id', pick_list.location_id));
  END IF;
  RETURN (
    WITH s AS MATERIALIZED (
      SELECT m.company_id, m.location_id, m.case_serial, m.model, st.*
        FROM dex.machines m
       CROSS JOIN LATERAL dex.slot_stock(m.id) st
       WHERE (pick_list.location_id IS NULL OR m.location_id = pick_list.location_id)
         AND st.par_level IS NOT NULL AND st.capacity IS NOT NULL
    ), due AS (
      SELECT s.*, s.capacity - s.estimate AS bring FROM s WHERE s.estimate < s.par_level
    ), per_machine AS (
      SELECT d.company_id, d.location_id, d.case_serial, d.model, sum(d.bring)::bigint AS bring,
             jsonb_agg(jsonb_build_object('selection', d.selection, 'product_code', d.product_code,
                                          'product_name', d.product_name, 'capacity', d.capacity,
                                          'par_level', d.par_level, 'estimate', d.estimate, 'bring', d.bring,
                                          'last_filled_at', d.filled_at) ORDER BY d.selection) AS slots
        FROM due d GROUP BY 1, 2, 3, 4
    ), per_location AS (
      SELECT p.company_id, p.location_id, sum(p.bring)::bigint AS bring,
             jsonb_agg(jsonb_build_object('case_serial', p.case_serial, 'model', p.model, 'bring', p.bring,
                                          'slots', p.slots) ORDER BY p.case_serial) AS machines
        FROM per_machine p GROUP BY 1, 2
    )
    SELECT jsonb_build_object(
      'location_id', pick_list.location_id,
      'locations', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                      'company_id', pl.company_id, 'location_id', pl.location_id, 'name', l.name,
                                      'address', l.address,
                                      'bring', pl.bring, 'machines', pl.machines)
                                    ORDER BY pl.company_id, l.name NULLS LAST)
                               FROM per_location pl LEFT JOIN dex.locations l ON l.id = pl.location_id), '[]'),
      'products', coalesce((SELECT jsonb_agg(jsonb_build_object('company_id', x.company_id, 'product_code', x.product_code,
                                                               'product_name', x.product_name, 'bring', x.bring)
                                             ORDER BY x.company_id, x.product_name NULLS LAST)
                              FROM (SELECT d.company_id, d.product_code, d.product_name, sum(d.bring)::bigint AS bring
                                      FROM due d GROUP BY 1, 2, 3) x), '[]'),
      'not_estimated', coalesce((SELECT jsonb_agg(jsonb_build_object('case_serial', s.case_serial,
                                                                     'selection', s.selection)
                                                  ORDER BY s.case_serial, s.selection)
                                   FROM s WHERE s.estimate IS NULL), '[]')));
END $$;
ALTER FUNCTION dex.pick_list(bigint) OWNER TO dex_service;
