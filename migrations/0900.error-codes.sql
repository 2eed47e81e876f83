-- depends: 0001.roles-and-schemas

-- Error code -> HTTP status, in one table (PostgREST keeps such a mapping in one place).
-- Its rows live in sql/00_core/20_error_codes.sql, re-applied with the rest of sql/, so
-- a new decline is one SQL change. The RPC reads the table with its function catalogue
-- (and again on NOTIFY kioskledger_reload); a code missing here answers 500.
CREATE TABLE core.error_codes (
    code         text  PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]*$'),
    http_status  int   NOT NULL CHECK (http_status BETWEEN 400 AND 599),
    description  text  NOT NULL CHECK (description <> '')
);
COMMENT ON TABLE core.error_codes IS
  'The HTTP status of every error code the api functions and the RPC server answer with. '
  'Rows: sql/00_core/20_error_codes.sql (edit there, then migrate).';

-- The RPC pool logs in as authenticator and reads the table outside any request role
-- (authenticator is NOINHERIT, so request roles gain nothing from this; core stays out
-- of their reach). DBAs read it as the owner.
GRANT USAGE ON SCHEMA core TO authenticator;
GRANT SELECT ON core.error_codes TO authenticator;
