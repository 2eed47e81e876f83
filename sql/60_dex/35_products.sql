-- dex: products and planograms. A company keeps its product catalogue (code, name,
-- category) and, per machine, which product each selection holds with its capacity and par
-- level. What a slot shows is decided in one place, dex.slot_products: the planogram first,
-- then the catalogue entry whose code the file reports in PA103, then the file's own text
-- (some makes put the product name there, most a code, many nothing).

DROP POLICY IF EXISTS company_rows ON dex.planogram;
CREATE POLICY company_rows ON dex.planogram
  USING ((SELECT core.sees_all_companies()) OR company_id = (SELECT core.request_company()));
GRANT SELECT, INSERT, UPDATE ON dex.planogram TO dex_service;
GRANT UPDATE (name, category, updated_at, updated_by) ON dex.products TO dex_service;

-- Every slot of a machine that the file reports or the planogram lists.
CREATE OR REPLACE FUNCTION dex.slot_products(machine_id bigint)
RETURNS TABLE (selection text, product_id bigint, product_code text, product_name text, category text,
               capacity bigint, par_level bigint, name_source text)
LANGUAGE sql STABLE AS $$
  SELECT coalesce(pg.selection, ms.selection),
         coalesce(pp.id, fp.id),
         coalesce(pp.product_code, ms.product_code),
         coalesce(pp.name, fp.name, ms.product_code),
         coalesce(pp.category, fp.category),
         coalesce(pg.capacity::bigint, ms.capacity),
         pg.par_level::bigint,
         CASE WHEN pp.id IS NOT NULL THEN 'planogram' WHEN fp.id IS NOT NULL THEN 'catalogue'
              WHEN ms.product_code IS NOT NULL THEN 'file' END
    FROM (SELECT * FROM dex.planogram p WHERE p.machine_id = slot_products.machine_id) pg
    FULL JOIN (SELECT * FROM dex.machine_slots s WHERE s.machine_id = slot_products.machine_id) ms
      ON ms.selection = pg.selection
    LEFT JOIN dex.products pp ON pp.id = pg.product_id
    LEFT JOIN dex.products fp ON fp.company_id = ms.company_id AND fp.product_code = ms.product_code
$$;

CREATE OR REPLACE FUNCTION dex.product_upsert(company_id text, product_code text, name text, category text)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE p dex.products;
BEGIN
  PERFORM 1 FROM dex.companies c WHERE c.company_id = product_upsert.company_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('COMPANY_NOT_FOUND', format('company %s does not exist', product_upsert.company_id),
                             jsonb_build_object('company_id', product_upsert.company_id));
  END IF;
  INSERT INTO dex.products AS t (company_id, product_code, name, category, updated_by)
  VALUES (product_upsert.company_id, product_upsert.product_code, btrim(product_upsert.name),
          nullif(btrim(product_upsert.category), ''), core.principal())
  ON CONFLICT ON CONSTRAINT products_company_id_product_code_key DO UPDATE
     SET name = excluded.name, category = excluded.category, updated_at = now(), updated_by = excluded.updated_by
  RETURNING * INTO p;
  RETURN jsonb_build_object('product_id', p.id, 'company_id', p.company_id, 'product_code', p.product_code,
                            'name', p.name, 'category', p.category);
END $$;
ALTER FUNCTION dex.product_upsert(text, text, text, text) OWNER TO dex_service;

CREATE OR REPLACE FUNCTION dex.products_list(company_id text) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('product_id', p.id, 'company_id', p.company_id,
                                               'product_code', p.product_code, 'name', p.name,
                                               'category', p.category)
                            ORDER BY p.company_id, p.product_code), '[]')
    FROM dex.products p
   WHERE products_list.company_id IS NULL OR p.company_id = products_list.company_id
$$;
ALTER FUNCTION dex.products_list(text) OWNER TO dex_service;

-- The machine's slots as dex.slot_products resolves them.
CREATE OR REPLACE FUNCTION dex.machine_planogram(machine_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'selection', s.selection, 'product_code', s.product_code, 'product_name', s.product_name,
           'category', s.category, 'capacity', s.capacity, 'par_level', s.par_level, 'name_source', s.name_source)
         ORDER BY s.selection), '[]')
    FROM dex.slot_products(machine_id) s
$$;

-- Set the planogram entries of the listed selections (each entry replaced as a whole:
-- product_code, capacity, par_level; null clears). Selections not listed keep theirs.
-- `slots` was checked by the api wrapper: an array of objects with a valid selection.
CREATE OR REPLACE FUNCTION dex.planogram_set(case_serial text, slots jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m       dex.machines;
  unknown text;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = planogram_set.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', planogram_set.case_serial),
                             jsonb_build_object('case_serial', planogram_set.case_serial));
  END IF;
  SELECT string_agg(DISTINCT x ->> 'product_code', ', ') INTO unknown
    FROM jsonb_array_elements(slots) x
   WHERE x ->> 'product_code' IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM dex.products p WHERE p.company_id = m.company_id
                                                   AND p.product_code = x ->> 'product_code');
  IF unknown IS NOT NULL THEN
    PERFORM core.raise_error('PRODUCT_NOT_FOUND', format('no product %s in company %s', unknown, m.company_id),
                             jsonb_build_object('product_code', unknown));
  END IF;
  INSERT INTO dex.planogram AS g (machine_id, company_id, selection, product_id, capacity, par_level, updated_by)
  SELECT m.id, m.company_id, x ->> 'selection', p.id, (x ->> 'capacity')::integer, (x ->> 'par_level')::integer,
         core.principal()
    FROM jsonb_array_elements(slots) x
    LEFT JOIN dex.products p ON p.company_id = m.company_id AND p.product_code = x ->> 'product_code'
  ON CONFLICT (machine_id, selection) DO UPDATE
     SET product_id = excluded.product_id, capacity = excluded.capacity, par_level = excluded.par_level,
         updated_at = now(), updated_by = excluded.updated_by;
  RETURN jsonb_build_object('case_serial', m.case_serial, 'slots', dex.machine_planogram(m.id));
END $$;
ALTER FUNCTION dex.planogram_set(text, jsonb) OWNER TO dex_service;

-- What is wrong with a list of slot entries from a client, or NULL: an array of 1-500
-- objects, each with a selection (1-32 of [A-Za-z0-9_.-], once per list) and only the
-- keys `allowed`; product_code a string of 1-64 or null; capacity, par_level and
-- quantity whole numbers 0..10000 or null, par_level not above capacity. The api
-- wrappers answer 400 with it, so no bad value reaches a cast or a constraint.
CREATE OR REPLACE FUNCTION dex.slots_problem(slots jsonb, allowed text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  x    jsonb;
  k    text;
  seen text[] := '{}'::text[];
BEGIN
  IF slots IS NULL OR jsonb_typeof(slots) <> 'array' OR jsonb_array_length(slots) NOT BETWEEN 1 AND 500 THEN
    RETURN 'slots must be an array of 1-500 objects';
  END IF;
  FOR x IN SELECT e FROM jsonb_array_elements(slots) e LOOP
    IF jsonb_typeof(x) <> 'object' THEN
      RETURN 'every slot must be an object';
    END IF;
    IF jsonb_typeof(x -> 'selection') IS DISTINCT FROM 'string' OR x ->> 'selection' !~ '^[A-Za-z0-9_.-]{1,32}$' THEN
      RETURN 'every slot needs a selection: 1-32 of [A-Za-z0-9_.-]';
    END IF;
    IF x ->> 'selection' = ANY (seen) THEN
      RETURN format('selection %s is listed twice', x ->> 'selection');
    END IF;
    seen := seen || (x ->> 'selection');
    FOR k IN SELECT jsonb_object_keys(x) LOOP
      IF NOT k = ANY (allowed || 'selection'::text) THEN
        RETURN format('unknown slot field %s (allowed: %s)', left(k, 40), array_to_string(allowed || 'selection'::text, ', '));
      END IF;
      IF k = 'product_code' AND jsonb_typeof(x -> k) <> 'null'
         AND (jsonb_typeof(x -> k) <> 'string' OR length(x ->> k) NOT BETWEEN 1 AND 64 OR x ->> k ~ '[[:cntrl:]]') THEN
        RETURN 'product_code must be 1-64 characters or null';
      END IF;
      IF k IN ('capacity', 'par_level', 'quantity') AND jsonb_typeof(x -> k) <> 'null'
         AND (jsonb_typeof(x -> k) <> 'number' OR (x ->> k) !~ '^[0-9]{1,5}$' OR (x ->> k)::integer > 10000) THEN
        RETURN format('%s must be a whole number 0..10000 or null', k);
      END IF;
    END LOOP;
    IF (x ->> 'par_level')::integer > (x ->> 'capacity')::integer THEN
      RETURN format('selection %s: par_level above capacity', x ->> 'selection');
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
