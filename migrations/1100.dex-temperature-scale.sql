-- depends: 0700.dex-schema

-- MA5 temperature scale per model AND firmware. One make reports
-- `MA5*DETECTED TEMPERATURE*600*C` (hundredths) on one firmware and `...*4*C` (whole
-- degrees) on another, so a decoder can be limited to a firmware (ID103 or CB104), and a
-- decoder whose scale depends on a firmware nobody has described yet names the candidate
-- divisors instead of guessing one: the ingest keeps the raw value and warns unless the
-- desired temperature leaves exactly one plausible candidate.
ALTER TABLE dex.ma5_decoders
    ADD COLUMN firmware_pattern text NOT NULL DEFAULT '%',
    ADD COLUMN candidate_divisors integer[],
    ALTER COLUMN divisor DROP NOT NULL,
    ADD CONSTRAINT ma5_decoders_scale_known_or_candidates
        CHECK ((divisor IS NULL) <> (candidate_divisors IS NULL)),
    ADD CONSTRAINT ma5_decoders_candidates_known
        CHECK (candidate_divisors <@ ARRAY[1, 10, 100] AND cardinality(candidate_divisors) >= 2),
    DROP CONSTRAINT ma5_decoders_model_pattern_ma5_key_layout_key,
    ADD CONSTRAINT ma5_decoders_model_firmware_key_layout_key
        UNIQUE (model_pattern, firmware_pattern, ma5_key, layout);

UPDATE dex.ma5_decoders
   SET divisor = NULL, candidate_divisors = '{1,100}',
       note = CASE ma5_key
                WHEN 'DETECTED TEMPERATURE' THEN
                  'MA5*DETECTED TEMPERATURE*600*C = 6.00 °C on firmware that reports hundredths, *4*C = 4 °C on '
                  'firmware that reports whole degrees: scale decided per model and firmware; unknown = in doubt'
                ELSE
                  'MA5*DESIRED TEMPERATURE*  400*C = 4.00 °C (hundredths) or *4*C = 4 °C (whole degrees): '
                  'scale decided per model and firmware; unknown = in doubt' END
 WHERE model_pattern = '%' AND ma5_key IN ('DETECTED TEMPERATURE', 'DESIRED TEMPERATURE');

-- A reading whose scale is in doubt is kept (raw value, no degrees) rather than dropped or
-- guessed: `scale` says how the degrees were obtained.
ALTER TABLE dex.read_temperatures
    ALTER COLUMN celsius DROP NOT NULL,
    ADD COLUMN raw_value numeric,
    ADD COLUMN scale text NOT NULL DEFAULT 'decoder' CHECK (scale IN ('decoder', 'inferred', 'in_doubt')),
    ADD CONSTRAINT read_temperatures_in_doubt_has_no_degrees CHECK ((celsius IS NULL) = (scale = 'in_doubt'));
