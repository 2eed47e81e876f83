-- dex: who sees which company's rows. Row-level security by company_id on every table
-- with company data; admin sees all; an operator sees the company in its token.
--
-- Why it holds: every dex table is read and written only by the dex.* entry points that
-- the api wrappers call, and those are SECURITY DEFINER owned by dex_service (migrations/
-- 0700), which is neither superuser nor table owner and lacks BYPASSRLS, so these
-- policies filter every query they run. The policies read the request role and claims
-- that the RPC sets per transaction from the verified JWT (the `role` setting keeps the
-- request role inside a definer function).

-- One policy per table, same rule for reading and writing (USING doubles as WITH CHECK):
-- admin (core.sees_all_companies) or the row's own company. Seeing every company is a role, never a
-- value a token could carry: a company_id claim is compared with company_id and nothing
-- else. The (SELECT ...) wrappers make Postgres evaluate each once per query, not per row.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['companies', 'locations', 'machines', 'products', 'machine_slots',
                           'captures', 'reads', 'read_totals', 'read_selections', 'read_tubes', 'read_events',
                           'read_temperatures', 'machine_errors', 'sales_deltas', 'machine_state'] LOOP
    EXECUTE format('DROP POLICY IF EXISTS company_rows ON dex.%I', t);
    EXECUTE format('CREATE POLICY company_rows ON dex.%I USING ((SELECT core.sees_all_companies()) OR company_id = (SELECT core.request_company()))', t);
  END LOOP;
END $$;
-- The policies once compared company_id with this function's '*' for "every company",
-- which an operator token with company_id "*" matched as well.
DROP FUNCTION IF EXISTS dex.company_scope();

-- dex_service owns the dex.* entry points that the api wrappers call: it needs the domain
-- tables (never DELETE: raw files and reads are kept forever) and a few core helpers.
-- It gets nothing in core's tables: idempotency stays in the (superuser-owned) wrappers.
GRANT USAGE ON SCHEMA dex, core TO dex_service;
GRANT SELECT, INSERT ON dex.companies, dex.locations, dex.products, dex.machines TO dex_service;
GRANT SELECT, INSERT, UPDATE ON dex.machine_slots, dex.captures, dex.reads, dex.machine_errors,
                                dex.machine_state TO dex_service;
GRANT SELECT, INSERT ON dex.read_totals, dex.read_selections, dex.read_tubes, dex.read_events,
                        dex.read_temperatures, dex.sales_deltas TO dex_service;
GRANT SELECT ON dex.ma5_decoders, dex.currency_codes, dex.fault_codes TO dex_service;
GRANT EXECUTE ON FUNCTION core.raise_error(text, text, jsonb, text), core.decline(text, text, jsonb),
                          core.claims(), core.request_role(), core.principal(), core.request_company(),
                          core.sees_all_companies() TO dex_service;
