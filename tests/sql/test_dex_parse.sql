-- DEX parser helpers (sql/60_dex/10_parse.sql), checked against independent references:
-- a bitwise CRC-16/ARC written here, and values worked out by hand from the format.
BEGIN;
SELECT plan(48);

-- Reference CRC-16/ARC, bit by bit (the SQL under test is table-driven).
CREATE FUNCTION pg_temp.crc_bitwise(data bytea) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE crc integer := 0; i integer; b integer;
BEGIN
  FOR i IN 0 .. length(data) - 1 LOOP
    crc := crc # get_byte(data, i);
    FOR b IN 1 .. 8 LOOP
      crc := CASE WHEN crc & 1 = 1 THEN (crc >> 1) # 40961 ELSE crc >> 1 END;  -- 0xA001
    END LOOP;
  END LOOP;
  RETURN crc;
END $$;
CREATE FUNCTION pg_temp.hex4(n integer) RETURNS text LANGUAGE sql AS $$ SELECT lpad(upper(to_hex(n)), 4, '0') $$;

SELECT is(dex.crc16_arc(convert_to('123456789', 'UTF8')), 47933, 'CRC-16/ARC check value 0xBB3D');
SELECT is(pg_temp.crc_bitwise(convert_to('123456789', 'UTF8')), 47933, 'the bitwise reference agrees');
SELECT is_empty($$ SELECT b FROM generate_series(0, 255) b
                    WHERE dex.crc16_arc(set_byte('\x00'::bytea, 0, b)) <> pg_temp.crc_bitwise(set_byte('\x00'::bytea, 0, b)) $$,
                'all 256 table entries equal the bitwise CRC');
SELECT is(dex.crc16_arc(convert_to('ST*001*0001' || E'\r\n' || 'VA1*1*2', 'UTF8')),
          pg_temp.crc_bitwise(convert_to('ST*001*0001' || E'\r\n' || 'VA1*1*2', 'UTF8')), 'multi-byte input');
-- The slicing tables: table 0 bit by bit, table k+1 = table k followed by a zero byte.
SELECT is(dex.crc16_arc_tables(), (
  WITH RECURSIVE bits AS (
    SELECT b, b AS c, 0 AS k FROM generate_series(0, 255) b
    UNION ALL
    SELECT b, CASE WHEN c & 1 = 1 THEN (c >> 1) # 40961 ELSE c >> 1 END, k + 1 FROM bits WHERE k < 8
  ), t0 AS (
    SELECT b, c FROM bits WHERE k = 8
  ), slice AS (
    SELECT 0 AS j, b, c FROM t0
    UNION ALL
    SELECT s.j + 1, s.b, (s.c >> 8) # t0.c FROM slice s JOIN t0 ON t0.b = s.c & 255 WHERE s.j < 7
  )
  SELECT array_agg(c ORDER BY j, b) FROM slice), 'the eight 256-entry tables of the slicing-by-8 CRC');
-- Eight bytes per step, then the tail byte by byte: every length up to 40 from every start
-- value class, and a block the size of a real audit.
SELECT is_empty($$ SELECT n FROM generate_series(0, 40) n,
                          LATERAL (SELECT convert_to(left(repeat('PA1*10*125*Cola 0.5L*', 3), n), 'UTF8') AS d) x
                    WHERE dex.crc16_arc(x.d) <> pg_temp.crc_bitwise(x.d) $$,
                'inputs of 0..40 bytes: the eight-byte steps and the tail agree with the bitwise CRC');
SELECT is(dex.crc16_arc(convert_to(repeat(E'PA2*1234*56789*0*0\r\n', 300), 'UTF8')),
          pg_temp.crc_bitwise(convert_to(repeat(E'PA2*1234*56789*0*0\r\n', 300), 'UTF8')), 'a 6 KB block');
SELECT is(dex.crc16_arc(convert_to('ABCDEFGHIJ', 'UTF8'), dex.crc16_arc(convert_to('0123456789abc', 'UTF8'))),
          pg_temp.crc_bitwise(convert_to('0123456789abcABCDEFGHIJ', 'UTF8')), 'a long run continued by another');
SELECT is(dex.crc16_arc(convert_to(E'\r\n', 'UTF8'), dex.crc16_arc(convert_to('ST*001*0001', 'UTF8'))),
          pg_temp.crc_bitwise(convert_to(E'ST*001*0001\r\n', 'UTF8')), 'a CRC can be continued');

-- G85 variants over the segments ST..(line before G85), CRLF-normalised.
CREATE TEMP TABLE g AS
SELECT ARRAY['ST*001*0001', 'ID1*X', 'VA1*100*1'] AS body,
       pg_temp.crc_bitwise(convert_to(E'ST*001*0001\r\nID1*X\r\nVA1*100*1\r\n', 'UTF8')) AS exact,
       pg_temp.crc_bitwise(convert_to(E'ST*001*0001\r\nID1*X\r\nVA1*100*1', 'UTF8')) AS no_final;
SELECT is((dex.g85_status(body, pg_temp.hex4(exact))).status, 'ok', 'exact G85') FROM g;
SELECT is((dex.g85_status(body, lower(pg_temp.hex4(exact)))).status, 'ok', 'lowercase hex G85') FROM g;
SELECT is((dex.g85_status(body, pg_temp.hex4(((exact & 255) << 8) | (exact >> 8)))).status, 'ok_swapped',
          'byte-swapped G85 (pre-6.0 equipment)') FROM g;
SELECT is((dex.g85_status(body, pg_temp.hex4(no_final))).status, 'ok_no_final_crlf', 'G85 without the final CRLF') FROM g;
SELECT is((dex.g85_status(body, pg_temp.hex4(exact # 1))).status, 'mismatch', 'a wrong G85 is a mismatch') FROM g;
SELECT is((dex.g85_status(body, 'FAKE')).status, 'mismatch', 'a non-hex G85 is a mismatch') FROM g;
SELECT is((dex.g85_status(body, NULL)).status, 'absent', 'no G85') FROM g;
SELECT is((dex.g85_status(body, NULL)).computed, pg_temp.hex4(exact), 'the computed CRC is reported') FROM g;

-- Numbers: leading zeros and padding are common; sentinels and junk are NULL.
SELECT is(dex.num('00012'), 12::bigint, 'leading zeros');
SELECT is(dex.num('  400'), 400::bigint, 'padding');
SELECT is(dex.num('-05'), -5::bigint, 'negative');
SELECT is(dex.num(''), NULL::bigint, 'empty element');
SELECT is(dex.num('N/A'), NULL::bigint, 'letters');
SELECT is(dex.num('4294967295'), NULL::bigint, 'sentinel 4294967295');
SELECT is(dex.num('65535'), NULL::bigint, 'sentinel 65535');
SELECT is(dex.num('1234567890123456789'), NULL::bigint, 'too long for bigint: NULL, not an error');
SELECT is(dex.num('-123456789012345678'), -123456789012345678::bigint, '18 digits with a sign');
SELECT is_empty($$ SELECT x FROM unnest(ARRAY['-', ' - ', '- 5', '+5', '--5', '5-', '1 2', E'\t5', '12a', ' ']) x
                    WHERE dex.num(x) IS NOT NULL $$, 'a sign alone, misplaced or doubled, inner spaces, tabs, letters: NULL');
SELECT is(dex.num(' 5 '), 5::bigint, 'spaces on both sides');

-- Machine clocks: YYMMDD / YYYYMMDD, HHMM / HHMMSS; nonsense is NULL.
SELECT is(dex.machine_time('250709', '1831'), '2025-07-09 18:31'::timestamp, 'YYMMDD HHMM');
SELECT is(dex.machine_time('20250709', '150849'), '2025-07-09 15:08:49'::timestamp, 'YYYYMMDD HHMMSS');
SELECT is(dex.machine_time('250231', '0000'), NULL::timestamp, 'February 31st is NULL');
SELECT is(dex.machine_time('NA', NULL), NULL::timestamp, 'not a date');

-- Since-init counters: normal, wrap at 10^8, controller reset, missing.
SELECT is(dex.counter_delta(100, 150)::text, '(50,normal)', 'normal delta');
SELECT is(dex.counter_delta(99999990, 5)::text, '(15,wrap)', 'wrap at 10^8: 10 before, 5 after');
SELECT is(dex.counter_delta(1000, 3)::text, '(3,reset)', 'a drop that is no wrap is a reset: counts from 0');
SELECT is(dex.counter_delta(NULL, 3)::text, '(,unavailable)', 'missing counter');
SELECT is(dex.counter_delta(999610, 210, 1000000)::text, '(600,wrap)', 'a 6-digit register wraps at 10^6');

-- A reported total against its sum: equal, a narrow register (the widest that fits), or not.
SELECT is(dex.total_check(348610, 2348610)::text, '(counter_width,1000000)', 'VA101 348,610 of 2,348,610: 6 digits');
SELECT is(dex.total_check(5000, 4500)::text, '(mismatch,)', 'plain disagreement');

-- ID4 currency: 1xxx ISO numeric, 0xxx phone code, else an alpha code in ID403.
SELECT is(dex.currency_of('1978', NULL), 'EUR', 'ISO numeric 978');
SELECT is(dex.currency_of('0001', '5'), 'USD', 'phone code 1');
SELECT is(dex.currency_of('840', 'USD'), 'USD', 'the malformed 2*840*USD still names USD');
SELECT is(dex.currency_of('0036', 'N/A'), NULL, 'unknown: no currency claimed');

-- MA5 temperatures are decoded per model; a layout without a decoder is not guessed.
SELECT is((SELECT celsius FROM dex.ma5_temperature('AMS Sensit III', ARRAY['MA5', 'TEMP', '41', '5'])), 5.00,
          'AMS: MA5*TEMP*41*5 is 5 °C');
SELECT is_empty($$ SELECT * FROM dex.ma5_temperature('Other Make', ARRAY['MA5', 'TEMP', '41', '5']) $$,
                'the same line on a model without that decoder is not guessed');
SELECT is((SELECT celsius FROM dex.ma5_temperature('Other Make', ARRAY['MA5', 'TEMP', '-05', 'C', 'DC'])), -0.50,
          'MA5*TEMP*-05*C*DC is -0.5 °C');
SELECT is((SELECT celsius FROM dex.ma5_temperature('Dixie Narco 5800', ARRAY['MA5', 'TEMP', '380', 'F', 'DC'])), 3.33,
          'MA5*TEMP*380*F*DC is 38.0 °F = 3.33 °C');
SELECT is((SELECT reading || ' ' || coalesce(celsius::text, 'in doubt') FROM dex.ma5_temperature('Any', ARRAY['MA5', 'DESIRED TEMPERATURE', '  400', 'C'])),
          'target in doubt', 'MA5*DESIRED TEMPERATURE*  400*C alone: hundredths or whole degrees depend on the firmware');

SELECT * FROM finish();
ROLLBACK;
