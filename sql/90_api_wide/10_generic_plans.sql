-- Every api function plans its statements once per session (generic plans). With the
-- default, statements on array or jsonb parameters kept choosing a fresh custom plan
-- on every call - measured here as ~30% of a bar order's time. Our queries are
-- key lookups whose best plan does not depend on the values.
DO $$
DECLARE fn regprocedure;
BEGIN
  FOR fn IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'api'::regnamespace LOOP
    EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_generic_plan', fn);
  END LOOP;
END $$;
