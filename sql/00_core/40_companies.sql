-- core: which company's rows a request may see. Operators act for the company in their
-- token; admin sees every company; seeing every company is a role, never a value a token
-- could carry. The row-level policies of the dex and kiosk domains call these two.

-- The company an operator acts for (NULL for anyone else: sees no company's rows).
CREATE OR REPLACE FUNCTION core.request_company() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN core.request_role() = 'operator' THEN nullif(core.claims() ->> 'company_id', '') END
$$;

-- Admin sees every company; so does a superuser session in psql that set no request role.
CREATE OR REPLACE FUNCTION core.sees_all_companies() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
  IF core.request_role() = 'admin' THEN
    RETURN true;
  END IF;
  IF current_setting('role') NOT IN ('none', '') THEN
    RETURN false;
  END IF;
  RETURN coalesce((SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user), false);
END $$;
