-- depends: 0700.dex-schema

-- Many telemetry devices print the same fake G85 on every file: a device whose G85 never
-- matched any of its files and repeats one value over files of different content does not
-- compute a CRC at all. Its reads are `not_computed` (integrity not verified, no warning),
-- so a real mismatch (a lost byte) on a device whose CRC does match stays a warning.
ALTER TABLE dex.captures
    DROP CONSTRAINT captures_crc_status_check,
    ADD CONSTRAINT captures_crc_status_check
        CHECK (crc_status IN ('ok', 'ok_swapped', 'ok_no_final_crlf', 'not_computed', 'mismatch', 'absent'));
ALTER TABLE dex.reads
    DROP CONSTRAINT reads_crc_status_check,
    ADD CONSTRAINT reads_crc_status_check
        CHECK (crc_status IN ('ok', 'ok_swapped', 'ok_no_final_crlf', 'not_computed', 'mismatch', 'absent'));
