-- depends: 1121.dex-slot-fills

-- Cash per read: what went into the cash box and the tubes, banknotes, and what was
-- paid out or filled by hand (CA3, CA4, CA10; BA1 names the bill validator). Since-init
-- counters (never reset, wrap at 10^8) are what the figures are computed from; the
-- since-reset side is kept as reported, a cross-check only (every read clears it).
CREATE TABLE dex.read_cash (
    read_id                   bigint PRIMARY KEY,
    company_id                text   NOT NULL,
    machine_id                bigint NOT NULL,
    cash_in                   bigint,  -- CA305
    coins_to_box              bigint,  -- CA306
    coins_to_tubes            bigint,  -- CA307
    bills_in                  bigint,  -- CA310 (cents), else CA308 in minor units
    dispensed                 bigint,  -- CA403
    manually_dispensed        bigint,  -- CA404
    manually_filled           bigint,  -- CA1002
    cash_in_reset             bigint,  -- CA301
    coins_to_box_reset        bigint,  -- CA302
    coins_to_tubes_reset      bigint,  -- CA303
    bills_in_reset            bigint,  -- CA309, else CA304 in minor units
    dispensed_reset           bigint,  -- CA401
    manually_dispensed_reset  bigint,  -- CA402
    manually_filled_reset     bigint,  -- CA1001
    bill_validator            text,    -- BA101 serial, BA102 model
    FOREIGN KEY (read_id, company_id) REFERENCES dex.reads (id, company_id),
    FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines (id, company_id)
);
CREATE INDEX read_cash_machine ON dex.read_cash (machine_id, read_id);

-- Cash collections: the cash box emptied. read_id is the machine's latest read when it was
-- recorded (the baseline for "cash box since the last collection"); expected_* is what the
-- counters said the box held, for reconciliation with what was counted.
CREATE TABLE dex.cash_collections (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_id      bigint      NOT NULL,
    company_id      text        NOT NULL,
    read_id         bigint      NOT NULL REFERENCES dex.reads,
    collected_at    timestamptz NOT NULL DEFAULT now(),
    collected_by    text        NOT NULL,
    expected_coins  bigint,
    expected_bills  bigint,
    FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines (id, company_id)
);
CREATE INDEX cash_collections_machine ON dex.cash_collections (machine_id, id DESC);

-- Policies: sql/60_dex/38_cash.sql.
ALTER TABLE dex.read_cash ENABLE ROW LEVEL SECURITY;
ALTER TABLE dex.cash_collections ENABLE ROW LEVEL SECURITY;
