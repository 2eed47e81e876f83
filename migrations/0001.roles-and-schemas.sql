-- Roles are cluster-wide: create them only when missing, so several databases
-- (tests, a managed server) can share one cluster.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'kiosk', 'staff', 'operator', 'admin'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
  -- The pool logs in as authenticator and switches to a request role with SET LOCAL ROLE.
  -- NOINHERIT: on its own it can do nothing. The set-up gives it LOGIN and a password.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator NOLOGIN NOINHERIT;
  END IF;
END $$;

GRANT anon, kiosk, staff, operator, admin TO authenticator;

CREATE SCHEMA api;
CREATE SCHEMA core;
CREATE SCHEMA ledger;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA api TO anon, kiosk, staff, operator, admin;

-- Functions are executable by PUBLIC by default; ours are granted role by role.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
