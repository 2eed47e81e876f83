-- depends: 0700.dex-schema

-- Which reported codes are faults, per make: editable reference data (no company). The most
-- specific model pattern whose code pattern matches decides; a code no row matches is a
-- fault. Seeded with what holds for every make: code 0 in MA5*ERROR is "no error", and the
-- door-open event EGS is the door opened for a handheld read, not a fault.
CREATE TABLE dex.fault_codes (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_pattern  text    NOT NULL,
    source         text    NOT NULL CHECK (source IN ('MA5', 'EA2')),
    code_regex     text    NOT NULL,
    is_fault       boolean NOT NULL,
    description    text    NOT NULL,
    UNIQUE (model_pattern, source, code_regex)
);
INSERT INTO dex.fault_codes (model_pattern, source, code_regex, is_fault, description) VALUES
  ('%', 'MA5', '^0+$', false, 'MA5*ERROR*0: no error'),
  ('%', 'EA2', '^EGS(_[0-9A-Z]+)?$', false, 'EGS door open: normal while the machine is read by a handheld');

-- A fault an operator resolved that the very next read still reports was not fixed: it is
-- reopened (resolved_at cleared), and when is kept here.
ALTER TABLE dex.machine_errors ADD COLUMN reopened_at timestamptz;
