-- depends: 0003.ledger

-- Vending telemetry: machines report DEX/EVA-DTS audit files. The raw file is
-- kept forever; everything derived from it is per accepted read (one complete DXS..DXE
-- block). Every table that holds company data carries company_id for row-level security;
-- the policies themselves live in sql/60_dex/20_security.sql (they call sql/ functions).

-- The api.dex_* functions run as this role (SECURITY DEFINER owned by it). It is neither a
-- superuser nor the tables' owner and has no BYPASSRLS, so the row-level security policies
-- really apply to every api call - a definer function owned by the migrating superuser
-- would silently bypass them.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dex_service') THEN
    CREATE ROLE dex_service NOLOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$;

CREATE SCHEMA dex;

CREATE TABLE dex.companies (
    company_id  text        PRIMARY KEY CHECK (company_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dex.locations (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id  text        NOT NULL REFERENCES dex.companies,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (company_id, name),
    UNIQUE (id, company_id)
);

-- case_serial is the telemetry device serial: the ingest channel, not what the file says
-- (DXS01/ID101 are often placeholders shared by many machines).
CREATE TABLE dex.machines (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_serial  text        NOT NULL UNIQUE CHECK (case_serial ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
    company_id   text        NOT NULL REFERENCES dex.companies,
    location_id  bigint,
    model        text        NOT NULL CHECK (length(model) BETWEEN 1 AND 100),
    -- Configured money format; it wins over ID4 (real files get ID4 wrong constantly).
    currency     text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    decimals     smallint    NOT NULL CHECK (decimals BETWEEN 0 AND 4),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, company_id),
    -- A machine's location belongs to the same company.
    FOREIGN KEY (location_id, company_id) REFERENCES dex.locations (id, company_id)
);
CREATE INDEX machines_company ON dex.machines (company_id);

CREATE TABLE dex.products (
    id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id    text    NOT NULL REFERENCES dex.companies,
    product_code  text    NOT NULL CHECK (length(product_code) BETWEEN 1 AND 64),
    name          text    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    UNIQUE (company_id, product_code),
    UNIQUE (id, company_id)
);

-- The planogram as the machine reports it (PA1), linked to a product when its code is known.
-- Written only when a slot appears or changes (not on every read): changed_read_id.
CREATE TABLE dex.machine_slots (
    machine_id       bigint      NOT NULL,
    company_id       text        NOT NULL,
    selection        text        NOT NULL,
    product_code     text,
    product_id       bigint,
    price            bigint,
    capacity         bigint,
    first_read_id    bigint      NOT NULL,
    changed_read_id  bigint      NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, selection),
    FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines (id, company_id),
    FOREIGN KEY (product_id, company_id) REFERENCES dex.products (id, company_id)
);

CREATE TABLE dex.captures (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_id      bigint      NOT NULL,
    company_id      text        NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    source          text        NOT NULL,
    submitted_by    text        NOT NULL,
    raw             text        NOT NULL,
    sha256          bytea       NOT NULL,
    bytes           integer     NOT NULL,
    parser_version  text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('accepted', 'rejected')),
    reject_reason   text,
    crc_status      text        CHECK (crc_status IN ('ok', 'ok_swapped', 'ok_no_final_crlf', 'mismatch', 'absent')),
    se_status       text        CHECK (se_status IN ('ok', 'mismatch', 'absent')),
    warnings        text[]      NOT NULL DEFAULT '{}',
    CHECK ((status = 'rejected') = (reject_reason IS NOT NULL)),
    FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines (id, company_id),
    -- The same file for the same machine is counted once (also under concurrency).
    UNIQUE (machine_id, sha256),
    UNIQUE (id, company_id)
);

-- One complete DXS..DXE block of a capture. Machine clock times (ID5, EA3) are
-- `timestamp`: the machine's local wall clock with no zone, advisory only.
CREATE TABLE dex.reads (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    capture_id        bigint      NOT NULL,
    machine_id        bigint      NOT NULL,
    company_id        text        NOT NULL,
    block_no          integer     NOT NULL,
    received_at       timestamptz NOT NULL,
    previous_read_id  bigint      REFERENCES dex.reads,
    crc_status        text        NOT NULL CHECK (crc_status IN ('ok', 'ok_swapped', 'ok_no_final_crlf', 'mismatch', 'absent')),
    g85_reported      text,
    crc_computed      text,
    se_status         text        NOT NULL CHECK (se_status IN ('ok', 'mismatch', 'absent')),
    se_reported       bigint,
    segment_count     integer     NOT NULL,
    dxs_sender        text,
    id1_serial        text,
    id1_model         text,
    firmware          text,
    dex_decimals      bigint,
    dex_currency      text,
    machine_clock     timestamp,
    ea3_read_count    bigint,
    ea3_this_read     timestamp,
    ea3_previous_read timestamp,
    tubes_value       bigint,
    -- Paid vends since the previous read, from VA1's since-init counters. `late`: an
    -- older read that arrived after a newer one (machine clock), booked as history only.
    vends_delta       bigint,
    revenue_delta     bigint,
    delta_kind        text        CHECK (delta_kind IN ('baseline', 'normal', 'wrap', 'reset', 'late', 'unavailable')),
    warnings          text[]      NOT NULL DEFAULT '{}',
    FOREIGN KEY (capture_id, company_id) REFERENCES dex.captures (id, company_id),
    FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines (id, company_id),
    UNIQUE (capture_id, block_no),
    UNIQUE (id, company_id)
);
CREATE INDEX reads_machine ON dex.reads (machine_id, id);

-- Audit totals with the (value, count) pair twice: VA1, VA2, VA3, CA2, DA2, DB2, TA2 are
-- all "init first": value_init, count_init, value_reset, count_reset.
CREATE TABLE dex.read_totals (
    read_id      bigint NOT NULL,
    company_id   text   NOT NULL,
    record       text   NOT NULL,
    value_init   bigint,
    count_init   bigint,
    value_reset  bigint,
    count_reset  bigint,
    PRIMARY KEY (read_id, record),
    FOREIGN KEY (read_id, company_id) REFERENCES dex.reads (id, company_id)
);

-- PA1 (price, product, capacity) with its PA2 paid-vend counters (init first), and its PA7
-- lines (per payment device CA/DA/DB and price list) kept as reported: detail that is only
-- ever shown, decoded when shown (api.machine_details) rather than on every ingest.
CREATE TABLE dex.read_selections (
    read_id       bigint NOT NULL,
    company_id    text   NOT NULL,
    selection     text   NOT NULL,
    price         bigint,
    product_code  text,
    capacity      bigint,
    vends_init    bigint,
    value_init    bigint,
    vends_reset   bigint,
    value_reset   bigint,
    pa7           text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (read_id, selection),
    FOREIGN KEY (read_id, company_id) REFERENCES dex.reads (id, company_id)
);

-- CA17 coin tubes keyed by coin value (the coin type number is 0- or 1-based by make).
CREATE TABLE dex.read_tubes (
    read_id         bigint  NOT NULL,
    company_id      text    NOT NULL,
    coin_value      bigint  NOT NULL,
    coin_types      text    NOT NULL,
    coins           bigint,
    coins_filled    bigint,
    coins_paid_out  bigint,
    tube_full       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (read_id, coin_value),
    FOREIGN KEY (read_id, company_id) REFERENCES dex.reads (id, company_id)
);

-- EA1 (one line per occurrence) and EA2 (per-code counters, reset first, "active now").
CREATE TABLE dex.read_events (
    read_id       bigint    NOT NULL,
    company_id    text      NOT NULL,
    line_no       integer   NOT NULL,
    record        text      NOT NULL CHECK (record IN ('EA1', 'EA2')),
    code          text      NOT NULL,
    occurred_at   timestamp,
    duration      bigint,
    count_reset   bigint,
    count_init    bigint,
    active        boolean,
    raw           text      NOT NULL,
    PRIMARY KEY (read_id, line_no),
    FOREIGN KEY (read_id, company_id) REFERENCES dex.reads (id, company_id)
);

-- MA5 temperatures, decoded per model by dex.ma5_decoders; the line is kept raw.
CREATE TABLE dex.read_temperatures (
    read_id     bigint        NOT NULL,
    company_id  text          NOT NULL,
    line_no     integer       NOT NULL,
    reading     text          NOT NULL CHECK (reading IN ('current', 'target')),
    celsius     numeric(6, 2) NOT NULL,
    decoder_id  integer       NOT NULL,
    raw         text          NOT NULL,
    PRIMARY KEY (read_id, line_no),
    FOREIGN KEY (read_id, company_id) REFERENCES dex.reads (id, company_id)
);

-- Faults (MA5*ERROR codes, EA2 events flagged active). EA3/EA7 are bookkeeping, never
-- faults. One row per occurrence: a code reported by consecutive reads is the same error
-- (last_read_id advances); a code that disappears and comes back is a new error.
CREATE TABLE dex.machine_errors (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_id       bigint      NOT NULL,
    company_id       text        NOT NULL,
    source           text        NOT NULL CHECK (source IN ('MA5', 'EA2')),
    code             text        NOT NULL,
    detail           text,
    first_read_id    bigint      NOT NULL,
    last_read_id     bigint      NOT NULL,
    first_seen_at    timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    reads            integer     NOT NULL DEFAULT 1,
    resolved_at      timestamptz,
    resolved_by      text,
    resolution_note  text,
    FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines (id, company_id)
);
CREATE INDEX machine_errors_machine_code ON dex.machine_errors (machine_id, source, code, last_read_id);
CREATE INDEX machine_errors_unresolved ON dex.machine_errors (machine_id) WHERE resolved_at IS NULL;

-- Sales between two consecutive accepted reads of a machine, from PA2's since-init
-- counters (never from the since-reset side, which every read by any device clears).
CREATE TABLE dex.sales_deltas (
    read_id           bigint      NOT NULL,
    company_id        text        NOT NULL,
    machine_id        bigint      NOT NULL,
    selection         text        NOT NULL,
    previous_read_id  bigint      NOT NULL,
    sold_at           timestamptz NOT NULL,
    vends             bigint      NOT NULL,
    revenue           bigint      NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('normal', 'wrap', 'reset')),
    PRIMARY KEY (read_id, selection),
    FOREIGN KEY (read_id, company_id) REFERENCES dex.reads (id, company_id)
);
CREATE INDEX sales_deltas_machine_sold_at ON dex.sales_deltas (machine_id, sold_at);

-- The fleet summary, maintained by the ingest in the same transaction as the read (and
-- by error resolution), so api.machines_summary is current the moment an ingest commits.
-- Its row is also the per-machine lock that orders ingests of one machine.
CREATE TABLE dex.machine_state (
    machine_id            bigint        PRIMARY KEY,
    company_id            text          NOT NULL,
    last_capture_id       bigint,
    last_read_id          bigint,
    last_read_at          timestamptz,
    reads                 bigint        NOT NULL DEFAULT 0,
    firmware              text,
    temperature_c         numeric(6, 2),
    target_temperature_c  numeric(6, 2),
    tubes                 jsonb         NOT NULL DEFAULT '[]',
    tubes_value           bigint,
    product_count         integer       NOT NULL DEFAULT 0,
    unresolved_errors     integer       NOT NULL DEFAULT 0,
    updated_at            timestamptz   NOT NULL DEFAULT now(),
    FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines (id, company_id)
);

-- Reference data (no company): MA5 temperature layouts per model. model_pattern is an
-- ILIKE pattern on machines.model; the most specific matching pattern whose layout fits
-- the line wins. A line no decoder fits is kept raw and flagged, never guessed.
--   fahrenheit_celsius: MA5*<key>*<°F>*<°C>            (celsius = element 3 / divisor)
--   value_unit:         MA5*<key>*<value>*<C|F>[*...]  (degrees = value / divisor)
CREATE TABLE dex.ma5_decoders (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_pattern  text    NOT NULL,
    ma5_key        text    NOT NULL CHECK (ma5_key = upper(ma5_key)),
    layout         text    NOT NULL CHECK (layout IN ('fahrenheit_celsius', 'value_unit')),
    divisor        integer NOT NULL CHECK (divisor IN (1, 10, 100)),
    reading        text    NOT NULL CHECK (reading IN ('current', 'target')),
    note           text    NOT NULL,
    UNIQUE (model_pattern, ma5_key, layout)
);
INSERT INTO dex.ma5_decoders (model_pattern, ma5_key, layout, divisor, reading, note) VALUES
  ('AMS%', 'TEMP', 'fahrenheit_celsius', 1, 'current',
   'AMS Sensit: MA5*TEMP*41*5 = 41 °F / 5 °C, whole degrees'),
  ('%', 'TEMP', 'value_unit', 10, 'current',
   'Dixie-Narco style: MA5*TEMP*380*F*DC = 38.0 °F, MA5*TEMP*-05*C*DC = -0.5 °C (tenths, unit given)'),
  ('%', 'DETECTED TEMPERATURE', 'value_unit', 100, 'current',
   'MA5*DETECTED TEMPERATURE*600*C = 6.00 °C (hundredths)'),
  ('%', 'DESIRED TEMPERATURE', 'value_unit', 100, 'target',
   'MA5*DESIRED TEMPERATURE*  400*C = 4.00 °C (hundredths)');

-- ID402: leading 1 = ISO 4217 numeric, leading 0 = telephone country code.
CREATE TABLE dex.currency_codes (
    dex_code  text PRIMARY KEY CHECK (dex_code ~ '^[01][0-9]{3}$'),
    currency  text NOT NULL CHECK (currency ~ '^[A-Z]{3}$')
);
INSERT INTO dex.currency_codes (dex_code, currency) VALUES
  ('1978', 'EUR'), ('1840', 'USD'), ('1826', 'GBP'), ('1756', 'CHF'), ('1036', 'AUD'),
  ('1124', 'CAD'), ('1554', 'NZD'), ('1752', 'SEK'), ('1578', 'NOK'), ('1208', 'DKK'),
  ('1985', 'PLN'), ('1203', 'CZK'), ('1348', 'HUF'), ('1392', 'JPY'), ('1710', 'ZAR'),
  ('1946', 'RON'), ('1949', 'TRY'), ('1484', 'MXN'), ('1986', 'BRL'),
  ('0001', 'USD'), ('0044', 'GBP'), ('0049', 'EUR'), ('0033', 'EUR'), ('0039', 'EUR'),
  ('0034', 'EUR'), ('0031', 'EUR'), ('0032', 'EUR'), ('0043', 'EUR'), ('0041', 'CHF'),
  ('0061', 'AUD'), ('0064', 'NZD'), ('0046', 'SEK'), ('0047', 'NOK'), ('0045', 'DKK'),
  ('0048', 'PLN'), ('0081', 'JPY'), ('0027', 'ZAR');

-- Row-level security on every table with company data (policies: sql/60_dex/20_security.sql).
ALTER TABLE dex.companies               ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.locations               ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.machines                ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.products                ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.machine_slots           ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.captures                ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.reads                   ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.read_totals             ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.read_selections         ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.read_tubes              ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.read_events             ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.read_temperatures       ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.machine_errors          ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.sales_deltas            ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.machine_state           ENABLE ROW LEVEL SECURITY;
