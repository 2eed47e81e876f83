-- depends: 0700.dex-schema

-- VA1 checked against the sum of the selections' PA2 (and CA2+DA2+DB2+TA2) on every read.
-- Some controllers keep VA1 in a register narrower than the standard's 8 digits (VA101
-- 348,610 while the PA2 values add up to 2,348,610): `counter_width`, and the register's
-- modulus is kept so the VA1 delta across its wrap is a wrap, not a controller reset.
ALTER TABLE dex.reads
    ADD COLUMN totals_check text CHECK (totals_check IN ('ok', 'counter_width', 'mismatch')),
    ADD COLUMN va1_value_modulus bigint CHECK (va1_value_modulus > 0),
    ADD COLUMN va1_count_modulus bigint CHECK (va1_count_modulus > 0);
