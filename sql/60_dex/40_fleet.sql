-- dex: companies, machines, errors and the fleet reads - the entry points behind the
-- api.* wrappers (sql/60_dex/90_api.sql), which add argument checks and idempotency.
-- Each is SECURITY DEFINER owned by dex_service, so every row it touches passes the
-- company policies (sql/60_dex/20_security.sql): an operator's own company only, admin all.

CREATE OR REPLACE FUNCTION dex.company_create(company_id text, name text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE created dex.companies;
BEGIN
  INSERT INTO dex.companies AS c (company_id, name, created_by)
  VALUES (company_create.company_id, btrim(company_create.name), core.principal())
  ON CONFLICT DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CONFLICT', format('company %s already exists', company_create.company_id),
                             jsonb_build_object('company_id', company_create.company_id));
  END IF;
  RETURN jsonb_build_object('company_id', created.company_id, 'name', created.name, 'created_at', created.created_at);
END $$;
ALTER FUNCTION dex.company_create(text, text) OWNER TO dex_service;

-- A new machine with its (empty) summary row; the location is found or created by name.
CREATE OR REPLACE FUNCTION dex.machine_register(case_serial text, company_id text, location text, model text,
                                                currency text, decimals integer) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  loc_id  bigint;
  created dex.machines;
BEGIN
  -- Under the policies an operator sees its own company only: anything else is unknown.
  PERFORM 1 FROM dex.companies c WHERE c.company_id = machine_register.company_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('COMPANY_NOT_FOUND', format('company %s does not exist', machine_register.company_id),
                             jsonb_build_object('company_id', machine_register.company_id));
  END IF;
  IF location IS NOT NULL THEN
    INSERT INTO dex.locations AS l (company_id, name, created_by)
    VALUES (machine_register.company_id, btrim(location), core.principal())
    ON CONFLICT DO NOTHING;
    SELECT l.id INTO loc_id FROM dex.locations l
     WHERE l.company_id = machine_register.company_id AND l.name = btrim(location);
  END IF;
  INSERT INTO dex.machines AS mm (case_serial, company_id, location_id, model, currency, decimals, registered_by)
  VALUES (machine_register.case_serial, machine_register.company_id, loc_id, btrim(machine_register.model),
          machine_register.currency, machine_register.decimals, core.principal())
  ON CONFLICT DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CONFLICT', format('case serial %s is already registered', machine_register.case_serial),
                             jsonb_build_object('case_serial', machine_register.case_serial));
  END IF;
  INSERT INTO dex.machine_state (machine_id, company_id) VALUES (created.id, created.company_id);
  RETURN jsonb_build_object(
    'machine_id', created.id, 'case_serial', created.case_serial, 'company_id', created.company_id,
    'location', btrim(location), 'model', created.model, 'currency', created.currency,
    'decimals', created.decimals);
END $$;
ALTER FUNCTION dex.machine_register(text, text, text, text, text, integer) OWNER TO dex_service;

-- Close an error with a note. Already resolved is a state, not a bad request: a decline
-- (core.decline), which the api wrapper stores under the request's key.
CREATE OR REPLACE FUNCTION dex.error_resolve(error_id bigint, note text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE err dex.machine_errors;
BEGIN
  SELECT * INTO err FROM dex.machine_errors e WHERE e.id = error_resolve.error_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('ERROR_NOT_FOUND', format('no machine error %s', error_resolve.error_id),
                             jsonb_build_object('error_id', error_resolve.error_id));
  END IF;
  -- Same lock order as the ingest (machine state, then errors): no deadlock between them.
  PERFORM 1 FROM dex.machine_state s WHERE s.machine_id = err.machine_id FOR NO KEY UPDATE;
  SELECT * INTO err FROM dex.machine_errors e WHERE e.id = error_resolve.error_id FOR UPDATE;
  IF err.resolved_at IS NOT NULL THEN
    RETURN core.decline('CONFLICT', format('error %s was already resolved at %s by %s', err.id, err.resolved_at,
                                           err.resolved_by),
                        jsonb_build_object('error_id', err.id, 'resolved_at', err.resolved_at));
  END IF;
  UPDATE dex.machine_errors e
     SET resolved_at = now(), resolved_by = core.principal(), resolution_note = btrim(note)
   WHERE e.id = err.id
  RETURNING * INTO err;
  UPDATE dex.machine_state s
     SET unresolved_errors = (SELECT count(*) FROM dex.machine_errors e
                               WHERE e.machine_id = err.machine_id AND e.resolved_at IS NULL),
         updated_at = now()
   WHERE s.machine_id = err.machine_id;
  RETURN jsonb_build_object(
    'error_id', err.id, 'source', err.source, 'code', err.code, 'resolved_at', err.resolved_at,
    'resolved_by', err.resolved_by, 'resolution_note', err.resolution_note);
END $$;
ALTER FUNCTION dex.error_resolve(bigint, text) OWNER TO dex_service;

-- The fleet from the maintained summary rows (no aggregation over reads here). No now()
-- in the answer itself, so an unchanged fleet keeps its ETag.
CREATE OR REPLACE FUNCTION dex.machines_summary(recent_within interval) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT jsonb_build_object('recent_within', recent_within::text,
    -- The fleet by location (machines without one last), for the route view.
    'locations', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'location_id', g.location_id, 'company_id', g.company_id, 'name', l.name, 'address', l.address,
               'machines', g.machines, 'unresolved_errors', g.unresolved_errors)
             ORDER BY g.company_id, l.name NULLS LAST)
        FROM (SELECT m.company_id, m.location_id, jsonb_agg(m.case_serial ORDER BY m.case_serial) AS machines,
                     sum(s.unresolved_errors)::bigint AS unresolved_errors
                FROM dex.machines m JOIN dex.machine_state s ON s.machine_id = m.id
               GROUP BY 1, 2) g
        LEFT JOIN dex.locations l ON l.id = g.location_id), '[]'),
    'machines', coalesce((
    SELECT jsonb_agg(jsonb_build_object(
             'case_serial', m.case_serial, 'company_id', m.company_id, 'location_id', m.location_id,
             'location', l.name, 'address', l.address, 'model', m.model,
             'currency', m.currency, 'decimals', m.decimals,
             'last_read_at', s.last_read_at, 'last_read_time_source', s.last_read_time_source,
             'last_received_at', s.last_received_at, 'reads', s.reads, 'firmware', s.firmware,
             'temperature', jsonb_build_object('current_c', s.temperature_c, 'target_c', s.target_temperature_c),
             'cash', jsonb_build_object('tubes_value', s.tubes_value, 'denominations', s.tubes,
                                        'cash_box', dex.cash_box_json(m.id)),
             'unresolved_errors', s.unresolved_errors,
             'errors', coalesce((SELECT jsonb_agg(jsonb_build_object('error_id', e.id, 'source', e.source, 'code', e.code)
                                                  ORDER BY e.id)
                                   FROM dex.machine_errors e WHERE e.machine_id = m.id AND e.resolved_at IS NULL), '[]'),
             'product_count', s.product_count,
             'slots', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                 'selection', sp.selection, 'product_code', sp.product_code,
                                 'product_name', sp.product_name) ORDER BY sp.selection), '[]')
                         FROM dex.slot_products(m.id) sp),
             'has_recent_data', coalesce(s.last_read_at > now() - recent_within, false))
           ORDER BY m.case_serial)
      FROM dex.machines m
      JOIN dex.machine_state s ON s.machine_id = m.id
      LEFT JOIN dex.locations l ON l.id = m.location_id), '[]'))
$$;
ALTER FUNCTION dex.machines_summary(interval) OWNER TO dex_service;

CREATE OR REPLACE FUNCTION dex.machine_details(case_serial text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m dex.machines;
  s dex.machine_state;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = machine_details.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', machine_details.case_serial),
                             jsonb_build_object('case_serial', machine_details.case_serial));
  END IF;
  SELECT * INTO s FROM dex.machine_state ms WHERE ms.machine_id = m.id;
  RETURN jsonb_build_object(
    'case_serial', m.case_serial, 'company_id', m.company_id, 'model', m.model,
    'location_id', m.location_id,
    'location', (SELECT l.name FROM dex.locations l WHERE l.id = m.location_id),
    'address', (SELECT l.address FROM dex.locations l WHERE l.id = m.location_id),
    'currency', m.currency, 'decimals', m.decimals,
    'last_read_at', s.last_read_at, 'last_read_time_source', s.last_read_time_source,
    'last_received_at', s.last_received_at,
    'last_read_id', s.last_read_id, 'reads', s.reads, 'firmware', s.firmware,
    -- The latest read's own clock as the machine reports it (a wall time without a zone):
    -- ID5 and the EA3 this-read time, so a clock that drifted or was never set is visible.
    'machine_clock', (SELECT r.machine_clock FROM dex.reads r WHERE r.id = s.last_read_id),
    'ea3_read_time', (SELECT r.ea3_this_read FROM dex.reads r WHERE r.id = s.last_read_id),
    -- Selections of the latest read: price, PA2 counters since init and since reset, PA7.
    'slots', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'selection', c.selection, 'price', c.price, 'product_code', coalesce(sp.product_code, c.product_code),
               'product_name', coalesce(sp.product_name, c.product_code), 'category', sp.category,
               'name_source', coalesce(sp.name_source, CASE WHEN c.product_code IS NOT NULL THEN 'file' END),
               'capacity', coalesce(sp.capacity, c.capacity), 'par_level', sp.par_level,
               'estimated_stock', sp.estimate, 'last_filled_at', sp.filled_at,
               'vends', c.vends_init, 'revenue', c.value_init,
               'vends_since_reset', c.vends_reset, 'revenue_since_reset', c.value_reset,
               'by_device', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                         'device', d.device, 'price_list', d.price_list, 'price', d.price,
                                         'vends', d.vends_init, 'revenue', d.value_init,
                                         'vends_since_reset', d.vends_reset, 'revenue_since_reset', d.value_reset)
                                       ORDER BY d.position), '[]')
                               FROM dex.read_selection_devices d
                              WHERE d.read_id = c.read_id AND d.selection = c.selection))
             ORDER BY c.selection)
        FROM dex.read_selections c
        LEFT JOIN dex.slot_stock(m.id) sp ON sp.selection = c.selection
       WHERE c.read_id = s.last_read_id), '[]'),
    'cash', jsonb_build_object(
      'tubes_value', s.tubes_value,
      'ca15_reported', (SELECT r.tubes_value FROM dex.reads r WHERE r.id = s.last_read_id),
      'tubes', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                  'coin_value', t.coin_value, 'coins', t.coins, 'value', t.coin_value * t.coins,
                                  'coin_types', t.coin_types, 'full', t.tube_full) ORDER BY t.coin_value)
                           FROM dex.read_tubes t WHERE t.read_id = s.last_read_id), '[]'),
      'cash_box', dex.cash_box_json(m.id),
      -- This read's cash records as reported: since init and since reset.
      'last_read', (SELECT to_jsonb(rc) - 'read_id' - 'company_id' - 'machine_id'
                      FROM dex.read_cash rc WHERE rc.read_id = s.last_read_id),
      'cashless', (SELECT jsonb_object_agg(t.record, jsonb_build_object('value_init', t.value_init, 'count_init', t.count_init))
                     FROM dex.read_totals t WHERE t.read_id = s.last_read_id AND t.record IN ('DA2', 'DB2'))),
    'temperatures', coalesce((SELECT jsonb_agg(jsonb_build_object('reading', t.reading, 'celsius', t.celsius,
                                                                  'raw', t.raw) ORDER BY t.line_no)
                                FROM dex.read_temperatures t WHERE t.read_id = s.last_read_id), '[]'),
    'errors', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                 'error_id', e.id, 'source', e.source, 'code', e.code, 'detail', e.detail,
                                 'first_seen_at', e.first_seen_at, 'last_seen_at', e.last_seen_at, 'reads', e.reads,
                                 'resolved_at', e.resolved_at, 'resolved_by', e.resolved_by,
                                 'resolution_note', e.resolution_note, 'reopened_at', e.reopened_at) ORDER BY e.resolved_at IS NULL DESC, e.id DESC)
                          FROM (SELECT * FROM dex.machine_errors e WHERE e.machine_id = m.id
                                 ORDER BY e.resolved_at IS NULL DESC, e.id DESC LIMIT 100) e), '[]'),
    'totals', coalesce((SELECT jsonb_object_agg(t.record, jsonb_build_object(
                                 'value_init', t.value_init, 'count_init', t.count_init,
                                 'value_reset', t.value_reset, 'count_reset', t.count_reset))
                          FROM dex.read_totals t WHERE t.read_id = s.last_read_id), '{}'),
    'recent_captures', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                          'capture_id', c.id, 'received_at', c.received_at,
                                          'captured_at', c.captured_at, 'source', c.source,
                                          'status', c.status, 'reject_reason', c.reject_reason,
                                          'crc_status', c.crc_status, 'se_status', c.se_status,
                                          'warnings', to_jsonb(c.warnings)) ORDER BY c.id DESC)
                                   FROM (SELECT * FROM dex.captures c WHERE c.machine_id = m.id
                                          ORDER BY c.id DESC LIMIT 10) c), '[]'));
END $$;
ALTER FUNCTION dex.machine_details(text) OWNER TO dex_service;

-- Daily sales from the deltas; days are UTC days of each read's time (dex.read_time: the
-- stated capture time, else the machine's clock, else the receipt), so a historical import
-- puts its sales on the days they were read, not on the import day.
CREATE OR REPLACE FUNCTION dex.machine_sales(case_serial text, from_day date, to_day date) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m  dex.machines;
  lo timestamptz := from_day::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (to_day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = machine_sales.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', machine_sales.case_serial),
                             jsonb_build_object('case_serial', machine_sales.case_serial));
  END IF;
  RETURN jsonb_build_object(
    'case_serial', m.case_serial, 'currency', m.currency, 'decimals', m.decimals, 'from', from_day, 'to', to_day,
    'days', (
      SELECT jsonb_agg(jsonb_build_object(
               'date', d.day,
               'vends', coalesce(sel.vends, 0), 'revenue', coalesce(sel.revenue, 0),
               'paid_vends_va1', coalesce(rd.vends, 0), 'paid_revenue_va1', coalesce(rd.revenue, 0),
               'reads', coalesce(rd.reads, 0),
               'wraps', coalesce(sel.wraps, 0), 'resets', coalesce(sel.resets, 0),
               'selections', coalesce(sel.selections, '[]'))
             ORDER BY d.day)
        FROM (SELECT g::date AS day FROM generate_series(from_day::timestamp, to_day::timestamp, interval '1 day') g) d
        LEFT JOIN (
          SELECT x.day, sum(x.vends)::bigint AS vends, sum(x.revenue)::bigint AS revenue,
                 sum(x.wraps)::bigint AS wraps, sum(x.resets)::bigint AS resets,
                 jsonb_agg(jsonb_build_object('selection', x.selection, 'product_code', sp.product_code,
                                              'product_name', sp.product_name, 'vends', x.vends, 'revenue', x.revenue)
                           ORDER BY x.selection) AS selections
            FROM (SELECT (sd.sold_at AT TIME ZONE 'UTC')::date AS day, sd.selection,
                         sum(sd.vends)::bigint AS vends, sum(sd.revenue)::bigint AS revenue,
                         count(*) FILTER (WHERE sd.kind = 'wrap') AS wraps,
                         count(*) FILTER (WHERE sd.kind = 'reset') AS resets
                    FROM dex.sales_deltas sd
                   WHERE sd.machine_id = m.id AND sd.sold_at >= lo AND sd.sold_at < hi
                   GROUP BY 1, 2) x
            LEFT JOIN dex.slot_products(m.id) sp ON sp.selection = x.selection
           GROUP BY x.day) sel ON sel.day = d.day
        LEFT JOIN (
          SELECT (r.read_at AT TIME ZONE 'UTC')::date AS day, count(*) AS reads,
                 sum(r.vends_delta)::bigint AS vends, sum(r.revenue_delta)::bigint AS revenue
            FROM dex.reads r
           WHERE r.machine_id = m.id AND r.read_at >= lo AND r.read_at < hi
           GROUP BY 1) rd ON rd.day = d.day));
END $$;
ALTER FUNCTION dex.machine_sales(text, date, date) OWNER TO dex_service;
