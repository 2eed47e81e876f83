-- dex: views for operations in psql. security_invoker, so anyone other than a superuser
-- reading them gets the same row-level security as the tables underneath.

-- The fleet at a glance: one row per machine, straight from the maintained summary.
CREATE OR REPLACE VIEW dex.fleet WITH (security_invoker = true) AS
SELECT m.case_serial, m.company_id, l.name AS location, m.model, m.currency, m.decimals,
       s.last_read_at, s.reads, s.firmware, s.temperature_c, s.target_temperature_c,
       s.tubes_value, s.product_count, s.unresolved_errors, s.last_capture_id, s.last_read_id
  FROM dex.machines m
  JOIN dex.machine_state s ON s.machine_id = m.id
  LEFT JOIN dex.locations l ON l.id = m.location_id;

-- Every file received, newest first, without the raw text (SELECT raw FROM dex.captures
-- WHERE id = ... for one file).
CREATE OR REPLACE VIEW dex.capture_log WITH (security_invoker = true) AS
SELECT c.id AS capture_id, m.case_serial, c.company_id, c.received_at, c.source, c.submitted_by,
       c.bytes, encode(c.sha256, 'hex') AS sha256, c.parser_version, c.status, c.reject_reason,
       c.crc_status, c.se_status, cardinality(c.warnings) AS warning_count, c.warnings,
       (SELECT count(*) FROM dex.reads r WHERE r.capture_id = c.id) AS reads
  FROM dex.captures c
  JOIN dex.machines m ON m.id = c.machine_id
 ORDER BY c.id DESC;

-- Faults waiting for an operator (api.machine_error_resolve closes them).
CREATE OR REPLACE VIEW dex.open_errors WITH (security_invoker = true) AS
SELECT e.id AS error_id, m.case_serial, e.company_id, e.source, e.code, e.detail,
       e.first_seen_at, e.last_seen_at, e.reads
  FROM dex.machine_errors e
  JOIN dex.machines m ON m.id = e.machine_id
 WHERE e.resolved_at IS NULL
 ORDER BY e.first_seen_at;

-- Captures stored by an older parser: candidates for a re-parse from the kept raw file.
CREATE OR REPLACE VIEW dex.captures_to_reparse WITH (security_invoker = true) AS
SELECT c.id AS capture_id, m.case_serial, c.received_at, c.parser_version, c.status
  FROM dex.captures c
  JOIN dex.machines m ON m.id = c.machine_id
 WHERE c.parser_version <> dex.parser_version();

-- PA7 per selection, payment device (CA cash, DA/DB cashless) and price list, decoded from
-- the lines the ingest keeps as reported (decoding them on every ingest cost ~20% of it).
CREATE OR REPLACE VIEW dex.read_selection_devices WITH (security_invoker = true) AS
SELECT s.read_id, s.company_id, s.selection, u.i AS position,
       nullif(btrim(x.e[3]), '') AS device, nullif(btrim(x.e[4]), '') AS price_list, dex.num(x.e[5]) AS price,
       dex.num(x.e[6]) AS vends_init, dex.num(x.e[7]) AS value_init,
       dex.num(x.e[8]) AS vends_reset, dex.num(x.e[9]) AS value_reset
  FROM dex.read_selections s
 CROSS JOIN LATERAL unnest(s.pa7) WITH ORDINALITY AS u(line, i)
 CROSS JOIN LATERAL (SELECT string_to_array(u.line, '*') AS e) x;
-- api.machine_details reads it (as dex_service, under the company policies).
GRANT SELECT ON dex.read_selection_devices TO dex_service;
