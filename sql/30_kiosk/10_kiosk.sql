-- kiosk: which kiosk is asking, registration, heartbeats, the agents' login roles.

-- The calling kiosk's row. A direct connection is identified by its login role
-- (session_user, which SET ROLE cannot change and which the client cannot choose); an
-- HTTP request by the verified token's kiosk_id claim - trusted only when the RPC set the
-- role `kiosk`. NULL for anybody else (admin, psql).
CREATE OR REPLACE FUNCTION kiosk.current_kiosk() RETURNS kiosk.kiosks
LANGUAGE plpgsql STABLE AS $$
DECLARE k kiosk.kiosks;
BEGIN
  SELECT * INTO k FROM kiosk.kiosks x WHERE x.login_role = session_user;
  IF FOUND THEN
    RETURN k;
  END IF;
  IF core.request_role() = 'kiosk' THEN
    SELECT * INTO k FROM kiosk.kiosks x WHERE x.kiosk_id = core.claims() ->> 'kiosk_id';
    IF NOT FOUND THEN
      PERFORM core.raise_error('FORBIDDEN', 'the token names no registered kiosk');
    END IF;
  END IF;
  RETURN k;
END $$;

CREATE OR REPLACE FUNCTION kiosk.current_kiosk_id() RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (kiosk.current_kiosk()).kiosk_id;
END $$;

-- The calling kiosk's row, or FORBIDDEN.
CREATE OR REPLACE FUNCTION kiosk.require_kiosk_row() RETURNS kiosk.kiosks
LANGUAGE plpgsql STABLE AS $$
DECLARE k kiosk.kiosks := kiosk.current_kiosk();
BEGIN
  IF k.kiosk_id IS NULL THEN
    PERFORM core.raise_error('FORBIDDEN', 'only a kiosk may call this (kiosk token or kiosk login)');
  END IF;
  RETURN k;
END $$;

CREATE OR REPLACE FUNCTION kiosk.require_kiosk() RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (kiosk.require_kiosk_row()).kiosk_id;
END $$;

-- The company a kiosk belongs to, which must exist (NULL: none yet, only admins see it).
CREATE OR REPLACE FUNCTION kiosk.require_company(company_id text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF company_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dex.companies c WHERE c.company_id = require_company.company_id) THEN
    PERFORM core.raise_error('COMPANY_NOT_FOUND', format('company %s does not exist', company_id),
                             jsonb_build_object('argument', 'company_id'));
  END IF;
  RETURN company_id;
END $$;

CREATE OR REPLACE FUNCTION kiosk.register(kiosk_id text, kind text, name text, location text,
                                          company_id text DEFAULT NULL) RETURNS kiosk.kiosks
LANGUAGE plpgsql AS $$
DECLARE k kiosk.kiosks;
BEGIN
  IF kiosk_id IS NULL OR kiosk_id !~ '^[a-z0-9][a-z0-9_]{0,39}$' THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'kiosk_id must be 1-40 lower-case letters, digits or _',
                             jsonb_build_object('argument', 'kiosk_id'));
  ELSIF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'name must be 1-200 characters', jsonb_build_object('argument', 'name'));
  ELSIF location IS NOT NULL AND length(location) > 200 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'location must be at most 200 characters',
                             jsonb_build_object('argument', 'location'));
  END IF;
  INSERT INTO kiosk.kiosks (kiosk_id, kind, name, location, company_id, registered_by)
  VALUES (kiosk_id, kind, btrim(name), location, kiosk.require_company(company_id), core.actor())
  ON CONFLICT DO NOTHING RETURNING * INTO k;
  IF k.kiosk_id IS NULL THEN
    PERFORM core.raise_error('CONFLICT', format('kiosk %s already exists', kiosk_id),
                             jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN k;
END $$;

-- Move a kiosk to a company (or to none): from then on that company's operators see it and
-- everything it sold, dispensed or owes, history included.
CREATE OR REPLACE FUNCTION kiosk.assign_company(kiosk_id text, company_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE k kiosk.kiosks;
BEGIN
  UPDATE kiosk.kiosks x SET company_id = kiosk.require_company(assign_company.company_id)
   WHERE x.kiosk_id = assign_company.kiosk_id RETURNING * INTO k;
  IF k.kiosk_id IS NULL THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('no kiosk %s', kiosk_id), jsonb_build_object('kiosk_id', kiosk_id));
  END IF;
  RETURN jsonb_build_object('kiosk_id', k.kiosk_id, 'kind', k.kind, 'company_id', k.company_id);
END $$;

-- Record that the kiosk is alive (and, for checkout kiosks, what its edge reports).
CREATE OR REPLACE FUNCTION kiosk.touch(kiosk_id text, link_up boolean DEFAULT NULL, pending_orders int DEFAULT NULL,
                                       app_version text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE kiosk.kiosks k
     SET last_seen_at = now(),
         link_up = coalesce(touch.link_up, k.link_up),
         pending_orders = coalesce(touch.pending_orders, k.pending_orders),
         app_version = coalesce(touch.app_version, k.app_version)
   WHERE k.kiosk_id = touch.kiosk_id;
END $$;

-- Owner-only (the provisioning CLI): a LOGIN role for the kiosk's agent, member of
-- kiosk_agent, mapped to the kiosk. Returns the role name.
CREATE OR REPLACE FUNCTION kiosk.provision_login(kiosk_id text, password text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE role_name text := 'kiosk_' || kiosk_id;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM kiosk.kiosks k WHERE k.kiosk_id = provision_login.kiosk_id) THEN
    PERFORM core.raise_error('KIOSK_NOT_FOUND', format('kiosk %s does not exist', kiosk_id));
  ELSIF password IS NULL OR length(password) < 16 THEN
    PERFORM core.raise_error('INVALID_REQUEST', 'password must have at least 16 characters');
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = role_name) THEN
    EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', role_name, password);
  ELSE
    EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE kiosk_agent', role_name, password);
  END IF;
  UPDATE kiosk.kiosks k SET login_role = role_name WHERE k.kiosk_id = provision_login.kiosk_id;
  RETURN role_name;
END $$;
