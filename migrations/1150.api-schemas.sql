-- depends: 0900.error-codes

-- JSON Schemas of the api functions' results and jsonb arguments, and the constraints of
-- their arguments, for /openapi.json. pg_catalog knows an argument is text; only the
-- function knows it is 8 letters or digits, or the shape of the jsonb it returns. The rows
-- live next to the functions (sql/<domain>/95_schemas.sql), re-applied with the rest of
-- sql/; the RPC reads them with its function catalogue.
CREATE TABLE core.api_schemas (
    function  text   NOT NULL CHECK (function ~ '^[a-z][a-z0-9_]*$'),
    -- 'result', 'errors' (the codes a call may answer with besides those found in its
    -- body), or an argument's name.
    part      text   NOT NULL CHECK (part <> ''),
    schema    jsonb  NOT NULL,
    PRIMARY KEY (function, part),
    CHECK (part <> 'errors' OR jsonb_typeof(schema) = 'array'),
    CHECK (part = 'errors' OR jsonb_typeof(schema) = 'object')
);
COMMENT ON TABLE core.api_schemas IS
  'JSON Schemas for /openapi.json: each api function''s result, its arguments'' constraints and jsonb shapes, '
  'and error codes it answers with. Rows: sql/<domain>/95_schemas.sql (edit there, then migrate).';

-- Read by the RPC pool's login role with the catalogue, as core.error_codes is.
GRANT SELECT ON core.api_schemas TO authenticator;
