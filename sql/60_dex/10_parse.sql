-- dex: pure helpers of the DEX/EVA-DTS parser. No table writes here.

-- Stored with every capture so files can be re-parsed when the parser changes.
CREATE OR REPLACE FUNCTION dex.parser_version() RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'dex-sql/2'
$$;

-- An element as an integer: leading zeros and padding are common; anything else (empty,
-- letters, absurdly long) is NULL rather than an error, and so are the "not available"
-- sentinels 4294967295 and 65535. Valid is what '^ *-?[0-9]{1,18} *$' says, checked by what
-- is left once the digits are removed ('' or a leading '-') and the length: a regex match
-- per element was ~7 % of an ingest's instructions. (bigint's input function itself skips
-- the spaces.) One expression, so the planner inlines it.
CREATE OR REPLACE FUNCTION dex.num(element text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN CASE translate(btrim(element, ' '), '0123456789', '')
                     WHEN '' THEN length(btrim(element, ' ')) BETWEEN 1 AND 18
                     WHEN '-' THEN left(btrim(element, ' '), 1) = '-' AND length(btrim(element, ' ')) BETWEEN 2 AND 19
                   END
              THEN nullif(nullif(element::bigint, 4294967295), 65535) END
$$;

-- A machine clock reading: date YYMMDD or YYYYMMDD, time HHMM or HHMMSS (or none).
-- Machine clocks are advisory and often nonsense: anything invalid is NULL, never an error.
CREATE OR REPLACE FUNCTION dex.machine_time(d text, t text DEFAULT NULL) RETURNS timestamp
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  y int; mo int; dd int; hh int := 0; mi int := 0; ss int := 0;
BEGIN
  d := btrim(coalesce(d, ''));
  t := btrim(coalesce(t, ''));
  IF d ~ '^[0-9]{8}$' THEN
    y := left(d, 4)::int; mo := substr(d, 5, 2)::int; dd := substr(d, 7, 2)::int;
  ELSIF d ~ '^[0-9]{6}$' THEN
    y := 2000 + left(d, 2)::int; mo := substr(d, 3, 2)::int; dd := substr(d, 5, 2)::int;
  ELSE
    RETURN NULL;
  END IF;
  IF t ~ '^[0-9]{4}([0-9]{2})?$' THEN
    hh := left(t, 2)::int; mi := substr(t, 3, 2)::int; ss := coalesce(nullif(substr(t, 5, 2), '')::int, 0);
  ELSIF t <> '' THEN
    RETURN NULL;
  END IF;
  IF y < 1970 OR mo NOT BETWEEN 1 AND 12 OR dd < 1 OR hh > 23 OR mi > 59 OR ss > 59
     OR dd > extract(day FROM make_date(y, mo, 1) + interval '1 month - 1 day') THEN
    RETURN NULL;
  END IF;
  RETURN make_timestamp(y, mo, dd, hh, mi, ss);
END $$;

-- CRC-16/ARC (reflected polynomial 0xA001, init 0, no final xor; check value 0xBB3D for
-- '123456789'): the lookup tables of the slicing-by-8 method, 8 x 256 entries. Table 0 is
-- the CRC of each single byte, worked out bit by bit; table k+1 is table k followed by one
-- zero byte. Computed once per session: IMMUTABLE without arguments, the planner folds the
-- call into a constant. (binascii.crc_hqx is CRC-16/CCITT: a different CRC.)
CREATE OR REPLACE FUNCTION dex.crc16_arc_tables() RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH RECURSIVE bits AS (
    SELECT b, b AS c, 0 AS k FROM generate_series(0, 255) b
    UNION ALL
    SELECT bits.b, CASE WHEN bits.c & 1 = 1 THEN (bits.c >> 1) # 40961 ELSE bits.c >> 1 END, bits.k + 1
      FROM bits WHERE bits.k < 8
  ), t0 AS (
    SELECT bits.b, bits.c FROM bits WHERE bits.k = 8
  ), slice AS (
    SELECT 0 AS j, t0.b, t0.c FROM t0
    UNION ALL
    SELECT s.j + 1, s.b, (s.c >> 8) # t0.c FROM slice s JOIN t0 ON t0.b = s.c & 255 WHERE s.j < 7
  )
  SELECT array_agg(slice.c ORDER BY slice.j, slice.b) FROM slice
$$;

-- The CRC of `data`, eight bytes per step: the register is linear in the message, so eight
-- bytes' contributions are looked up independently (table 7-k for byte k, the register's two
-- bytes folded into bytes 0 and 1) - half the time of one byte per step in PL/pgSQL, where
-- each step's interpretation costs more than its lookups. The tail goes byte by byte. `crc`
-- continues a previous run, so the exact and the "no final CRLF" variants come from one pass.
CREATE OR REPLACE FUNCTION dex.crc16_arc(data bytea, crc integer DEFAULT 0) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  n    CONSTANT integer := length(data);
  tail CONSTANT integer := n - n % 8;
BEGIN
  -- Table k starts at k * 256 + 1; (dex.crc16_arc_tables()) is a constant array, indexed directly.
  FOR i IN 0 .. tail - 8 BY 8 LOOP
    crc := (dex.crc16_arc_tables())[((crc # get_byte(data, i)) & 255) + 1793]
         # (dex.crc16_arc_tables())[(((crc >> 8) # get_byte(data, i + 1)) & 255) + 1537]
         # (dex.crc16_arc_tables())[get_byte(data, i + 2) + 1281]
         # (dex.crc16_arc_tables())[get_byte(data, i + 3) + 1025]
         # (dex.crc16_arc_tables())[get_byte(data, i + 4) + 769]
         # (dex.crc16_arc_tables())[get_byte(data, i + 5) + 513]
         # (dex.crc16_arc_tables())[get_byte(data, i + 6) + 257]
         # (dex.crc16_arc_tables())[get_byte(data, i + 7) + 1];
  END LOOP;
  FOR i IN tail .. n - 1 LOOP
    crc := (crc >> 8) # (dex.crc16_arc_tables())[((crc # get_byte(data, i)) & 255) + 1];
  END LOOP;
  RETURN crc;
END $$;

-- G85 check of one block. `body` holds the segments from ST through the line before G85,
-- already split (any of CRLF/LF/CR), so the CRC runs over CRLF-normalised lines as the
-- standard defines it whatever the stored file used. Real equipment prints the CRC in
-- lowercase, byte-swapped (pre-6.0) or computed without the final CRLF: all accepted and
-- told apart; anything else (a constant fake value, corruption) is `mismatch` - a flag,
-- not a rejection.
CREATE OR REPLACE FUNCTION dex.g85_status(body text[], reported text,
                                          OUT status text, OUT computed text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  no_final integer;
  exact    integer;
  got      integer;
BEGIN
  no_final := dex.crc16_arc(convert_to(array_to_string(body, E'\r\n'), 'UTF8'));
  exact := dex.crc16_arc('\x0d0a'::bytea, no_final);
  computed := lpad(upper(to_hex(exact)), 4, '0');
  IF reported IS NULL THEN
    status := 'absent';
    RETURN;
  END IF;
  reported := btrim(reported);
  IF reported !~ '^[0-9A-Fa-f]{4}$' THEN
    status := 'mismatch';
    RETURN;
  END IF;
  got := ('x' || lpad(reported, 8, '0'))::bit(32)::integer;
  status := CASE
    WHEN got = exact THEN 'ok'
    WHEN got = (((exact & 255) << 8) | (exact >> 8)) THEN 'ok_swapped'
    WHEN got = no_final THEN 'ok_no_final_crlf'
    ELSE 'mismatch' END;
END $$;

-- Sales between two readings of one since-init counter. These counters never reset and
-- wrap at 10^8: a drop of at least 9*10^7 from below 10^8 is a wrap (delta through the
-- wrap); any other drop is a controller reset (re-initialisation), whose sales are the
-- new reading itself. Either way the caller flags it.
CREATE OR REPLACE FUNCTION dex.counter_delta(prev bigint, cur bigint, OUT delta bigint, OUT kind text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN prev IS NULL OR cur IS NULL THEN NULL
              WHEN cur >= prev THEN cur - prev
              WHEN prev < 100000000 AND cur + 100000000 - prev <= 10000000 THEN cur + 100000000 - prev
              ELSE cur END,
         CASE WHEN prev IS NULL OR cur IS NULL THEN 'unavailable'
              WHEN cur >= prev THEN 'normal'
              WHEN prev < 100000000 AND cur + 100000000 - prev <= 10000000 THEN 'wrap'
              ELSE 'reset' END
$$;

-- The same at a register's own modulus (a controller keeping a counter in fewer digits).
CREATE OR REPLACE FUNCTION dex.counter_delta(prev bigint, cur bigint, modulus bigint, OUT delta bigint, OUT kind text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN prev IS NULL OR cur IS NULL THEN NULL
              WHEN cur >= prev THEN cur - prev
              WHEN prev < modulus AND cur + modulus - prev <= modulus / 10 THEN cur + modulus - prev
              ELSE cur END,
         CASE WHEN prev IS NULL OR cur IS NULL THEN 'unavailable'
              WHEN cur >= prev THEN 'normal'
              WHEN prev < modulus AND cur + modulus - prev <= modulus / 10 THEN 'wrap'
              ELSE 'reset' END
$$;

-- A reported total against the sum it should equal (VA101 against the selections' PA203,
-- or against CA201+DA201+...). `counter_width`: the report is the sum modulo 10^k, a
-- controller keeping the total in a k-digit register (ΣPA2 2,348,610, VA101 348,610 -> 10^6;
-- the widest such register, since a 6-digit fit is also a 5-digit one); `mismatch`: they
-- simply disagree; NULL: nothing to compare.
-- PL/pgSQL, not SQL: a SQL function returning a record is never inlined, and each call was
-- planned afresh (three per read).
CREATE OR REPLACE FUNCTION dex.total_check(reported bigint, expected bigint, OUT kind text, OUT modulus bigint)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  p bigint;
BEGIN
  IF reported IS NULL OR expected IS NULL THEN
    RETURN;
  END IF;
  FOREACH p IN ARRAY '{10000000,1000000,100000,10000}'::bigint[] LOOP
    IF reported >= 0 AND reported < p AND expected > reported AND expected % p = reported THEN
      modulus := p;
      EXIT;
    END IF;
  END LOOP;
  kind := CASE WHEN reported = expected THEN 'ok' WHEN modulus IS NOT NULL THEN 'counter_width' ELSE 'mismatch' END;
END $$;

-- Whether an element after the first code of a MA5*ERROR line is another code: one word with
-- a letter in it (`CJ07`); numbers there are the vendor's detail (a time, a date, a count).
CREATE OR REPLACE FUNCTION dex.ma5_error_code(element text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(btrim(element) ~ '^[A-Za-z0-9_.-]*[A-Za-z][A-Za-z0-9_.-]*$', false)
$$;

-- The currency an ID4 line declares, if it declares one we can read: ID402 as a 4-digit
-- code (1xxx ISO numeric, 0xxx phone code), else ID403 as an ISO alpha code.
-- (PL/pgSQL: its lookup's plan is kept for the session; as a SQL function with a subquery it
-- was planned on every call.)
CREATE OR REPLACE FUNCTION dex.currency_of(id402 text, id403 text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  declared text;
BEGIN
  SELECT c.currency INTO declared FROM dex.currency_codes c WHERE c.dex_code = btrim(id402);
  RETURN coalesce(declared, CASE WHEN upper(btrim(id403)) ~ '^[A-Z]{3}$' AND upper(btrim(id403)) <> 'N/A'
                                 THEN upper(btrim(id403)) END);
END $$;

-- The decoder of one MA5 temperature line for a machine: model as registered, firmware as the
-- read reports it (CB104, else ID103). The most specific model pattern wins, then the most
-- specific firmware pattern, among decoders whose layout fits the line (e = the line split
-- on '*'). raw_value is the number as reported, unit C or F; divisor NULL = the scale is in
-- doubt for this model/firmware and `candidates` are the possible divisors.
CREATE OR REPLACE FUNCTION dex.ma5_decoder_for(model text, firmware text, e text[],
                                               OUT reading text, OUT raw_value numeric, OUT unit text,
                                               OUT divisor integer, OUT candidates integer[], OUT decoder_id integer)
RETURNS SETOF record LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT d.reading,
         CASE d.layout WHEN 'fahrenheit_celsius' THEN dex.num(e[4]) ELSE dex.num(e[3]) END::numeric,
         CASE WHEN d.layout = 'value_unit' AND upper(btrim(e[4])) = 'F' THEN 'F' ELSE 'C' END,
         d.divisor, d.candidate_divisors, d.id
    FROM dex.ma5_decoders d
   WHERE d.ma5_key = upper(btrim(e[2]))
     AND model ILIKE d.model_pattern
     AND coalesce(firmware, '') ILIKE d.firmware_pattern
     AND CASE d.layout
           WHEN 'fahrenheit_celsius' THEN dex.num(e[3]) IS NOT NULL AND dex.num(e[4]) IS NOT NULL
                                          AND coalesce(btrim(e[5]), '') = ''
           ELSE dex.num(e[3]) IS NOT NULL AND upper(btrim(e[4])) IN ('C', 'F')
         END
   ORDER BY d.model_pattern = '%', length(d.model_pattern) DESC,
            d.firmware_pattern = '%', length(d.firmware_pattern) DESC, d.id
   LIMIT 1
$$;

CREATE OR REPLACE FUNCTION dex.degrees_c(raw_value numeric, unit text, divisor integer) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT round(CASE unit WHEN 'F' THEN (raw_value / divisor - 32) * 5 / 9 ELSE raw_value / divisor END, 2)
$$;

-- Decode one MA5 line's temperature for a machine model, firmware unknown (e = the line
-- split on '*'). No row when no decoder fits; celsius NULL when the scale is in doubt.
CREATE OR REPLACE FUNCTION dex.ma5_temperature(model text, e text[],
                                               OUT reading text, OUT celsius numeric, OUT decoder_id integer)
RETURNS SETOF record LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT d.reading, dex.degrees_c(d.raw_value, d.unit, d.divisor), d.decoder_id
    FROM dex.ma5_decoder_for(model, NULL, e) d
$$;

-- All MA5 temperature lines of a read, decoded together so that detected and desired
-- temperatures check each other. A plausible reading is within -40..110 °C (cold drinks to
-- hot water) and the first detected is within 40 °C of the first desired: no machine runs
-- that far from its set point, a scale error (x100) does. For lines whose scale is in doubt
-- (the decoder lists candidate divisors) a candidate is used only when it is the only one
-- that passes (scale `inferred`: 600 against 400 is 6 °C, never 600 °C); otherwise the raw value is kept without
-- degrees (`in_doubt`) - 4 and 4 read as 4 °C or as 0.04 °C, and neither may be guessed.
-- A known scale that gives an implausible reading is in doubt too. `reading` is NULL for a
-- line no decoder fits (only its warning matters).
CREATE OR REPLACE FUNCTION dex.ma5_temperatures(model text, firmware text, seg text[])
RETURNS TABLE (line_no integer, reading text, celsius numeric, raw_value numeric, decoder_id integer,
               scale text, line text, warning text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  WITH d AS MATERIALIZED (
    SELECT s.n, s.line, x.*
      -- MA5 lines with a second element, each split once (OFFSET 0: not re-split per e[k]).
      FROM (SELECT u.n::integer AS n, u.line, string_to_array(u.line, '*') AS e
              FROM unnest(seg) WITH ORDINALITY AS u(line, n)
             WHERE u.line LIKE 'MA5*%' OFFSET 0) s
      LEFT JOIN LATERAL dex.ma5_decoder_for(model, firmware, s.e) x ON true
     WHERE s.e[1] = 'MA5' AND upper(s.e[2]) LIKE '%TEMP%'
  ), k AS (
    -- Candidate divisors for the lines in doubt; 0 = no line in doubt.
    SELECT DISTINCT unnest(d.candidates) AS k FROM d WHERE d.decoder_id IS NOT NULL AND d.divisor IS NULL
    UNION ALL
    SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.decoder_id IS NOT NULL AND d.divisor IS NULL)
  ), v AS (
    SELECT k.k, d.n, d.reading, dex.degrees_c(d.raw_value, d.unit, coalesce(d.divisor, k.k)) AS c
      FROM k CROSS JOIN d WHERE d.decoder_id IS NOT NULL
  ), fit AS (
    SELECT f.*, f.in_range AND coalesce(abs(f.cur - f.tgt) <= 40, true) AS ok
      FROM (SELECT v.k, bool_and(v.c BETWEEN -40 AND 110) AS in_range,
                   (array_agg(v.c ORDER BY v.n) FILTER (WHERE v.reading = 'current'))[1] AS cur,
                   (array_agg(v.c ORDER BY v.n) FILTER (WHERE v.reading = 'target'))[1] AS tgt,
                   (array_agg(v.n ORDER BY v.n) FILTER (WHERE v.reading = 'current'))[1] AS cur_n,
                   (array_agg(v.n ORDER BY v.n) FILTER (WHERE v.reading = 'target'))[1] AS tgt_n
              FROM v GROUP BY v.k) f
  ), choice AS (
    SELECT CASE WHEN count(*) FILTER (WHERE fit.ok) = 1 THEN max(fit.k) FILTER (WHERE fit.ok)
                WHEN max(fit.k) = 0 THEN 0 END AS k
      FROM fit
  ), x AS (
    SELECT d.*, c.k, f.ok AS pair_ok, f.cur_n, f.tgt_n,
           CASE WHEN d.divisor IS NOT NULL THEN dex.degrees_c(d.raw_value, d.unit, d.divisor)
                WHEN c.k > 0 THEN dex.degrees_c(d.raw_value, d.unit, c.k) END AS c,
           (SELECT string_agg(format('%s with divisor %s', v.c, v.k), ', ' ORDER BY v.k)
              FROM v WHERE v.n = d.n AND v.k > 0) AS alternatives
      FROM d CROSS JOIN choice c LEFT JOIN fit f ON f.k = c.k
  ), y AS (
    SELECT x.*,
           CASE WHEN x.decoder_id IS NULL THEN NULL
                WHEN x.c IS NULL THEN 'in_doubt'
                WHEN x.c NOT BETWEEN -40 AND 110 THEN 'in_doubt'
                WHEN x.pair_ok IS FALSE AND x.n IN (x.cur_n, x.tgt_n) THEN 'in_doubt'
                WHEN x.divisor IS NULL THEN 'inferred'
                ELSE 'decoder' END AS scale
      FROM x
  )
  SELECT y.n, y.reading, CASE WHEN y.scale <> 'in_doubt' THEN y.c END, y.raw_value, y.decoder_id, y.scale, y.line,
         CASE
           WHEN y.decoder_id IS NULL THEN format('MA5 temperature line %L not decoded for model %L: kept raw', y.line, model)
           WHEN y.scale = 'inferred' THEN NULL
           WHEN y.divisor IS NULL THEN
             format('MA5 temperature line %L: scale in doubt for model %L firmware %L (%s): raw value %s kept, no '
                    'temperature recorded', y.line, model, firmware, y.alternatives, y.raw_value)
           WHEN y.scale = 'in_doubt' THEN
             format('MA5 temperature line %L: %s °C is implausible (outside -40..110 °C or more than 40 °C from the '
                    'desired temperature): scale in doubt for model %L firmware %L, raw value %s kept, no temperature '
                    'recorded', y.line, y.c, model, firmware, y.raw_value)
         END
    FROM y ORDER BY y.n
$$;
