-- dex: locations. Machines belong to a location (name and address) within their company;
-- the fleet summary and the pick list group by it. api.machine_register still finds or
-- creates a location by name for a new machine; these entry points create locations with
-- an address and move machines between them.

GRANT UPDATE (location_id) ON dex.machines TO dex_service;

CREATE OR REPLACE FUNCTION dex.location_create(company_id text, name text, address text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE created dex.locations;
BEGIN
  PERFORM 1 FROM dex.companies c WHERE c.company_id = location_create.company_id;
  IF NOT FOUND THEN
    PERFORM core.raise_error('COMPANY_NOT_FOUND', format('company %s does not exist', location_create.company_id),
                             jsonb_build_object('company_id', location_create.company_id));
  END IF;
  INSERT INTO dex.locations (company_id, name, address, created_by)
  VALUES (location_create.company_id, btrim(location_create.name), nullif(btrim(location_create.address), ''),
          core.principal())
  ON CONFLICT DO NOTHING
  RETURNING * INTO created;
  IF NOT FOUND THEN
    PERFORM core.raise_error('CONFLICT', format('company %s already has a location named %s', location_create.company_id,
                                                btrim(location_create.name)),
                             jsonb_build_object('company_id', location_create.company_id, 'name', btrim(location_create.name)));
  END IF;
  RETURN jsonb_build_object('location_id', created.id, 'company_id', created.company_id, 'name', created.name,
                            'address', created.address);
END $$;
ALTER FUNCTION dex.location_create(text, text, text) OWNER TO dex_service;

-- Move a machine to a location of its own company (NULL: to none).
CREATE OR REPLACE FUNCTION dex.machine_assign_location(case_serial text, location_id bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m   dex.machines;
  loc dex.locations;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = machine_assign_location.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', machine_assign_location.case_serial),
                             jsonb_build_object('case_serial', machine_assign_location.case_serial));
  END IF;
  IF location_id IS NOT NULL THEN
    -- Another company's location is as unknown as a missing one (an admin sees both).
    SELECT * INTO loc FROM dex.locations l WHERE l.id = machine_assign_location.location_id AND l.company_id = m.company_id;
    IF NOT FOUND THEN
      PERFORM core.raise_error('LOCATION_NOT_FOUND', format('company %s has no location %s', m.company_id,
                                                            machine_assign_location.location_id),
                               jsonb_build_object('location_id', machine_assign_location.location_id));
    END IF;
  END IF;
  UPDATE dex.machines mm SET location_id = machine_assign_location.location_id WHERE mm.id = m.id;
  RETURN jsonb_build_object('case_serial', m.case_serial, 'location_id', loc.id, 'location', loc.name,
                            'address', loc.address);
END $$;
ALTER FUNCTION dex.machine_assign_location(text, bigint) OWNER TO dex_service;

CREATE OR REPLACE FUNCTION dex.locations_list() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'location_id', l.id, 'company_id', l.company_id, 'name', l.name, 'address', l.address,
           'machines', (SELECT coalesce(jsonb_agg(m.case_serial ORDER BY m.case_serial), '[]')
                          FROM dex.machines m WHERE m.location_id = l.id))
         ORDER BY l.company_id, l.name), '[]')
    FROM dex.locations l
$$;
ALTER FUNCTION dex.locations_list() OWNER TO dex_service;
