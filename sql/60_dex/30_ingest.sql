-- dex: the ingest. One capture (a raw file) holds zero or more DXS..DXE blocks; each
-- complete block becomes one read with everything derived from it, and the machine's
-- summary row is updated in the same transaction. Reached through api.dex_ingest only:
-- psql, the RPC, the dex-import CLI and any scheduler all ingest through that function.

-- When a read happened: the capture time its telemetry source stated, else the machine's
-- clock (EA3 this-read time, else ID5), else the file's receipt. Machine clocks are wall
-- times without a zone (DEX has none): taken as UTC, so a machine set to local time files
-- its sales up to its UTC offset early or late around midnight. A clock before 2001 (a
-- controller that lost its time after a battery change) or over a day after the receipt
-- is not believed: the receipt dates the read instead.
-- (PL/pgSQL: a SQL function returning a record is never inlined, and was planned on each call.)
CREATE OR REPLACE FUNCTION dex.read_time(captured_at timestamptz, machine_clock timestamp, received_at timestamptz,
                                         OUT read_at timestamptz, OUT source text)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF captured_at IS NOT NULL THEN
    read_at := captured_at;
    source := 'captured_at';
  ELSIF machine_clock >= timestamp '2001-01-01' AND machine_clock AT TIME ZONE 'UTC' <= received_at + interval '1 day' THEN
    read_at := machine_clock AT TIME ZONE 'UTC';
    source := 'machine_clock';
  ELSE
    read_at := received_at;
    source := 'received';
  END IF;
END $$;

-- A device that does not compute a CRC: none of its recent reads' G85 ever matched, and
-- one of them carried this same G85 value over different content (another computed CRC).
-- One device computing CRCs is enough to keep a mismatch loud: a single matching read in
-- its history says the device does compute them.
CREATE OR REPLACE FUNCTION dex.crc_not_computed(machine_id bigint, reported text, computed text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT count(*) FILTER (WHERE r.crc_status IN ('ok', 'ok_swapped', 'ok_no_final_crlf')) = 0
     AND count(*) FILTER (WHERE upper(r.g85_reported) = upper(btrim(reported))
                            AND r.crc_computed IS DISTINCT FROM computed) > 0
    FROM (SELECT rr.crc_status, rr.g85_reported, rr.crc_computed FROM dex.reads rr
           WHERE rr.machine_id = crc_not_computed.machine_id ORDER BY rr.id DESC LIMIT 200) r
$$;

-- Book one complete block (`seg` = its segments from ST up to the line before DXE, `tags`
-- = their tags, seg[k]'s text up to its first '*') as a read of machine `m`. A record's lines
-- are found by their tag's positions (array_position/array_positions over `tags`), each
-- split once by the statement that reads it: no statement scans or splits the whole block. The caller holds the machine_state row lock, so "the previous
-- read" cannot change under us. Returns the read's summary for the api answer.
CREATE OR REPLACE FUNCTION dex.book_read(cap dex.captures, m dex.machines, v_block integer,
                                         dxs_line text, seg text[], tags text[])
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  cid        text := m.company_id;
  prev_id    bigint;
  prev_read  dex.reads;
  r_id       bigint;
  warn       text[] := '{}'::text[];
  after_warn text[] := '{}'::text[];  -- found after the read row was written
  h          record;
  crc        record;
  se_status  text;
  va1        record;
  prev_va1   record;
  -- VA1 deltas: count (dv_) and value (vv_); stay NULL for a machine's first read.
  dv_delta   bigint;
  dv_kind    text;
  vv_delta   bigint;
  vv_kind    text;
  v_kind     text;
  v_vends    bigint;
  v_revenue  bigint;
  this_time  timestamp;
  prev_time  timestamp;
  this_count bigint;
  clock_order integer;  -- -1 older than the previous read, 0 same, 1 newer, NULL unknown
  count_order integer;
  -- An older read arriving after a newer one (late upload, import out of order).
  late       boolean := false;
  n_sel      integer := 0;
  n_pa1      integer := 0;
  n_pa103    integer := 0;
  tubes_sum  bigint;
  tubes_json jsonb;
  temp_current numeric;
  temp_target  numeric;
  undecoded  text[];
  kinds      record;
  sums       record;
  chk_value  record;
  chk_count  record;
  chk_paid   record;
  v_totals   text;
  -- Firmware as the machine reports it: CB104 (control board software), else ID103.
  firmware   text;
  -- The currency ID4 declares, if one we can read.
  id4_currency text;
  -- Positions of the PA1 lines: selection k opens at pa1_at[k].
  pa1_at     integer[];
  -- When the read happened (dex.read_time): sales days and freshness go by it.
  rt         record;
BEGIN
  SELECT s.last_read_id INTO prev_id FROM dex.machine_state s WHERE s.machine_id = m.id;
  IF prev_id IS NOT NULL THEN
    SELECT * INTO prev_read FROM dex.reads r WHERE r.id = prev_id;
  END IF;

  -- Envelope and single-line records: the first line of each tag.
  SELECT array_position(tags, 'G85') AS g85_n, array_position(tags, 'SE') AS se_n,
         seg[array_position(tags, 'ID1')] AS id1, seg[array_position(tags, 'ID4')] AS id4,
         seg[array_position(tags, 'ID5')] AS id5, seg[array_position(tags, 'CB1')] AS cb1,
         seg[array_position(tags, 'EA3')] AS ea3, seg[array_position(tags, 'CA15')] AS ca15,
         seg[array_position(tags, 'VA1')] AS va1, seg[array_position(tags, 'CA2')] AS ca2,
         seg[array_position(tags, 'DA2')] AS da2, seg[array_position(tags, 'DB2')] AS db2,
         seg[array_position(tags, 'TA2')] AS ta2
    INTO h;

  firmware := coalesce(nullif(btrim(split_part(h.cb1, '*', 4)), ''), nullif(btrim(split_part(h.id1, '*', 4)), ''));

  -- G85: CRC over ST .. the line before G85.
  IF h.g85_n IS NOT NULL THEN
    crc := dex.g85_status(seg[1:h.g85_n - 1], split_part(seg[h.g85_n], '*', 2));
  ELSE
    crc := dex.g85_status(seg[1:coalesce(h.se_n, array_length(seg, 1) + 1) - 1], NULL);
  END IF;
  -- A device that never computes a CRC prints one fake value on every file: its G85 never
  -- matched any of its files, and the same value came with different content before. Its
  -- reads are not_computed, without the warning that would drown a real lost byte on a
  -- device whose CRC does match (that one stays a mismatch).
  IF crc.status = 'mismatch' AND dex.crc_not_computed(m.id, split_part(seg[h.g85_n], '*', 2), crc.computed) THEN
    crc.status := 'not_computed';
  END IF;
  IF crc.status = 'mismatch' THEN
    warn := warn || format('G85 %s does not match the CRC of the block (%s): the file may be corrupt',
                           split_part(seg[h.g85_n], '*', 2), crc.computed);
  ELSIF crc.status = 'absent' THEN
    warn := warn || 'no G85 checksum: integrity not verified'::text;
  END IF;

  -- SE01 counts the segments ST..SE inclusive; wrong in many real files: a warning only.
  se_status := CASE WHEN h.se_n IS NULL THEN 'absent'
                    WHEN dex.num(split_part(seg[h.se_n], '*', 2)) = h.se_n THEN 'ok'
                    ELSE 'mismatch' END;
  IF se_status = 'mismatch' THEN
    warn := warn || format('SE01 says %s segments, the block has %s', split_part(seg[h.se_n], '*', 2), h.se_n);
  ELSIF se_status = 'absent' THEN
    warn := warn || 'no SE segment'::text;
  END IF;
  -- Records are read from ST through SE; anything between SE and DXE is not data.
  IF h.se_n IS NOT NULL THEN
    seg := seg[1:h.se_n];
    tags := tags[1:h.se_n];
  END IF;

  -- Money format: the machine's configuration wins; disagreements are recorded.
  IF dex.num(split_part(h.id4, '*', 2)) IS DISTINCT FROM m.decimals AND dex.num(split_part(h.id4, '*', 2)) IS NOT NULL THEN
    warn := warn || format('ID401 declares %s decimals, the machine is configured with %s: using %s',
                           dex.num(split_part(h.id4, '*', 2)), m.decimals, m.decimals);
  END IF;
  id4_currency := dex.currency_of(split_part(h.id4, '*', 3), split_part(h.id4, '*', 4));
  IF id4_currency <> m.currency THEN
    warn := warn || format('ID4 declares currency %s, the machine is configured with %s: using %s',
                           id4_currency, m.currency, m.currency);
  END IF;

  -- VA1: paid vends, since-init first, checked on every read against the sum of the
  -- selections' PA2 (count, value) and, when the file reports cash sales at all, against
  -- VA101 = CA201+DA201+DB201+TA201+TA205. Disagreements are warnings (never enforced);
  -- a narrow VA1 register (counter_width) gives the modulus its deltas wrap at.
  SELECT dex.num(split_part(h.va1, '*', 2)) AS value_init, dex.num(split_part(h.va1, '*', 3)) AS count_init,
         dex.num(split_part(h.va1, '*', 4)) AS value_reset, dex.num(split_part(h.va1, '*', 5)) AS count_reset
    INTO va1;
  SELECT sum(dex.num(l.e[3]))::bigint AS pa_value, sum(dex.num(l.e[2]))::bigint AS pa_count,
         coalesce(dex.num(split_part(h.ca2, '*', 2)), 0) + coalesce(dex.num(split_part(h.da2, '*', 2)), 0)
           + coalesce(dex.num(split_part(h.db2, '*', 2)), 0) + coalesce(dex.num(split_part(h.ta2, '*', 2)), 0)
           + coalesce(dex.num(split_part(h.ta2, '*', 6)), 0) AS paid_value
    INTO sums FROM (SELECT string_to_array(seg[p], '*') AS e FROM unnest(array_positions(tags, 'PA2')) p OFFSET 0) l;
  chk_value := dex.total_check(va1.value_init, sums.pa_value);
  chk_count := dex.total_check(va1.count_init, sums.pa_count);
  chk_paid := dex.total_check(va1.value_init, CASE WHEN h.ca2 IS NOT NULL THEN sums.paid_value END);
  IF chk_value.kind IN ('counter_width', 'mismatch') THEN
    warn := warn || format('VA101 %s <> sum of PA203 %s (%s%s)', va1.value_init, sums.pa_value, chk_value.kind,
                           CASE WHEN chk_value.kind = 'counter_width'
                                THEN format(': VA1 value kept in a %s-digit register', length(chk_value.modulus::text) - 1) END);
  END IF;
  IF chk_count.kind IN ('counter_width', 'mismatch') THEN
    warn := warn || format('VA102 %s <> sum of PA202 %s (%s%s)', va1.count_init, sums.pa_count, chk_count.kind,
                           CASE WHEN chk_count.kind = 'counter_width'
                                THEN format(': VA1 count kept in a %s-digit register', length(chk_count.modulus::text) - 1) END);
  END IF;
  IF chk_paid.kind IN ('counter_width', 'mismatch') THEN
    warn := warn || format('VA101 %s <> CA201+DA201+DB201+TA201+TA205 = %s (%s; logged, not enforced)', va1.value_init,
                           sums.paid_value, chk_paid.kind);
  END IF;
  v_totals   := CASE WHEN 'mismatch' IN (chk_value.kind, chk_count.kind, chk_paid.kind) THEN 'mismatch'
                       WHEN 'counter_width' IN (chk_value.kind, chk_count.kind, chk_paid.kind) THEN 'counter_width'
                       WHEN 'ok' IN (chk_value.kind, chk_count.kind, chk_paid.kind) THEN 'ok' END;

  -- VA1 sales since the previous read, from the since-init counters, wrapping at the
  -- register's modulus when this read or the previous one showed a narrow register.
  IF prev_id IS NOT NULL THEN
    SELECT t.value_init, t.count_init INTO prev_va1 FROM dex.read_totals t WHERE t.read_id = prev_id AND t.record = 'VA1';
    SELECT d.delta, d.kind INTO dv_delta, dv_kind
      FROM dex.counter_delta(prev_va1.count_init, va1.count_init,
                             coalesce(chk_count.modulus, prev_read.va1_count_modulus, 100000000)) d;
    SELECT d.delta, d.kind INTO vv_delta, vv_kind
      FROM dex.counter_delta(prev_va1.value_init, va1.value_init,
                             coalesce(chk_value.modulus, prev_read.va1_value_modulus, 100000000)) d;
  END IF;

  v_kind := CASE WHEN prev_id IS NULL THEN 'baseline'
               WHEN 'unavailable' IN (dv_kind, vv_kind) THEN 'unavailable'
               WHEN 'reset' IN (dv_kind, vv_kind) THEN 'reset'
               WHEN 'wrap' IN (dv_kind, vv_kind) THEN 'wrap' ELSE 'normal' END;
  v_vends := CASE WHEN v_kind = 'reset' THEN va1.count_init ELSE dv_delta END;
  v_revenue := CASE WHEN v_kind = 'reset' THEN va1.value_init ELSE vv_delta END;
  -- Order against the previous read by the machine's clock (EA3 read time, else ID5) and by
  -- the EA3 read counter. A read either calls older, with neither calling it newer, is a
  -- late arrival (a delayed upload, an import out of order) even with unchanged counters:
  -- kept as history, booking no sales and leaving the machine's latest read where it is.
  -- When they disagree the counters decide as before (a clock set back by a battery change
  -- is not a late read; a controller reset puts the EA3 counter back too), but a drop of
  -- the since-init counters with an older clock is still late, not a reset.
  this_time := coalesce(dex.machine_time(split_part(h.ea3, '*', 3), split_part(h.ea3, '*', 4)),
                        dex.machine_time(split_part(h.id5, '*', 2), split_part(h.id5, '*', 3)));
  prev_time := coalesce(prev_read.ea3_this_read, prev_read.machine_clock);
  this_count := nullif(dex.num(split_part(h.ea3, '*', 2)), 0);
  rt := dex.read_time(cap.captured_at, this_time, cap.received_at);
  IF rt.source = 'received' AND this_time IS NOT NULL AND cap.captured_at IS NULL THEN
    warn := warn || format('machine clock %s is not believable (before 2001 or over a day after receipt): the read is dated by its receipt',
                           this_time);
  END IF;
  clock_order := sign(extract(epoch FROM this_time - prev_time))::integer;
  count_order := sign(this_count - nullif(prev_read.ea3_read_count, 0))::integer;
  IF prev_id IS NOT NULL AND ((least(clock_order, count_order) = -1 AND greatest(clock_order, count_order) <= 0)
                              OR (v_kind = 'reset' AND clock_order = -1)) THEN
    late := true;
    v_kind := 'late';
    v_vends := NULL;
    v_revenue := NULL;
    warn := warn || format('older than the previous read (%s): stored, no sales booked',
                           concat_ws(', ',
                                     CASE WHEN clock_order = -1 THEN format('machine time %s < %s', this_time, prev_time) END,
                                     CASE WHEN count_order = -1 THEN format('EA3 read counter %s < %s', this_count,
                                                                            prev_read.ea3_read_count) END));
  ELSIF clock_order * count_order = -1 THEN
    warn := warn || format('machine time %s vs %s and EA3 read counter %s vs %s disagree about the order of the reads',
                           this_time, prev_time, this_count, prev_read.ea3_read_count);
  END IF;

  -- VA1 with only its since-reset side (VA103/VA104): every read clears it, so it is the
  -- sales since the previous read itself - none when the EA3 counter did not advance (a
  -- re-report of values already booked).
  IF NOT late AND prev_id IS NOT NULL AND va1.value_init IS NULL AND va1.count_init IS NULL
     AND (va1.value_reset IS NOT NULL OR va1.count_reset IS NOT NULL) THEN
    v_kind := 'since_reset';
    v_vends := CASE WHEN count_order = 0 THEN 0 ELSE va1.count_reset END;
    v_revenue := CASE WHEN count_order = 0 THEN 0 ELSE va1.value_reset END;
  END IF;

  -- A different ID101 than the machine's previous read: a swapped controller board, or a
  -- file that belongs to another machine - booked (the channel decides), but said.
  IF nullif(btrim(split_part(h.id1, '*', 2)), '') IS DISTINCT FROM prev_read.id1_serial
     AND nullif(btrim(split_part(h.id1, '*', 2)), '') IS NOT NULL AND prev_read.id1_serial IS NOT NULL THEN
    warn := warn || format('ID101 changed from %s to %s since the previous read: controller swapped, or another machine''s file?',
                           prev_read.id1_serial, nullif(btrim(split_part(h.id1, '*', 2)), ''));
  END IF;

  -- EA3 read counter: detects reads that never reached us and re-reports.
  IF NOT late AND dex.num(split_part(h.ea3, '*', 2)) > 0 AND prev_read.ea3_read_count > 0 THEN
    IF dex.num(split_part(h.ea3, '*', 2)) = prev_read.ea3_read_count THEN
      warn := warn || format('EA3 read counter %s did not advance since the previous read: a re-report', prev_read.ea3_read_count);
    ELSIF dex.num(split_part(h.ea3, '*', 2)) > prev_read.ea3_read_count + 1 THEN
      warn := warn || format('EA3 read counter went from %s to %s: %s read(s) in between were not ingested here',
                             prev_read.ea3_read_count, dex.num(split_part(h.ea3, '*', 2)),
                             dex.num(split_part(h.ea3, '*', 2)) - prev_read.ea3_read_count - 1);
    END IF;
  END IF;

  INSERT INTO dex.reads (capture_id, machine_id, company_id, block_no, received_at, previous_read_id,
                         crc_status, g85_reported, crc_computed, se_status, se_reported, segment_count,
                         dxs_sender, id1_serial, id1_model, firmware, dex_decimals, dex_currency,
                         machine_clock, ea3_read_count, ea3_this_read, ea3_previous_read, tubes_value,
                         vends_delta, revenue_delta, delta_kind, warnings,
                         totals_check, va1_value_modulus, va1_count_modulus, read_at, read_at_source)
  VALUES (cap.id, m.id, cid, v_block, cap.received_at, prev_id,
          crc.status, nullif(split_part(seg[h.g85_n], '*', 2), ''), crc.computed, se_status,
          dex.num(split_part(seg[h.se_n], '*', 2)), array_length(seg, 1),
          nullif(btrim(split_part(dxs_line, '*', 2)), ''), nullif(btrim(split_part(h.id1, '*', 2)), ''),
          nullif(btrim(split_part(h.id1, '*', 3)), ''), nullif(btrim(split_part(h.cb1, '*', 4)), ''),
          dex.num(split_part(h.id4, '*', 2)), id4_currency,
          dex.machine_time(split_part(h.id5, '*', 2), split_part(h.id5, '*', 3)),
          dex.num(split_part(h.ea3, '*', 2)),
          dex.machine_time(split_part(h.ea3, '*', 3), split_part(h.ea3, '*', 4)),
          dex.machine_time(split_part(h.ea3, '*', 6), split_part(h.ea3, '*', 7)),
          dex.num(split_part(h.ca15, '*', 2)),
          v_vends, v_revenue, v_kind, warn,
          v_totals, coalesce(chk_value.modulus, prev_read.va1_value_modulus),
          coalesce(chk_count.modulus, prev_read.va1_count_modulus), rt.read_at, rt.source)
  RETURNING id INTO r_id;

  -- Selections: PA1 opens one; the PA2..PA8 lines after it belong to it. PA2 is
  -- count_init, value_init, count_reset, value_reset (count before value, unlike VA1).
  -- PA7 names its selection itself (PA701; else the enclosing PA1); its lines are kept raw.
  -- Some controllers leave PA101 empty and carry the selection number in PA103 (where
  -- others repeat it: `PA1*101*125*101`): used when it is a short id, and then it is no
  -- product code.
  -- Selection k is the lines from the k-th PA1 up to the next PA1; its PA2 is the first PA2
  -- in that range, and a PA7 line names its selection (PA701), else belongs to the one whose
  -- range holds it (width_bucket: how many PA1 lines come before it). Lines before the
  -- first PA1 belong to none.
  pa1_at := array_positions(tags, 'PA1');
  WITH sel AS MATERIALIZED (
    SELECT x.k, x.n, x.pa1,
           CASE WHEN x.pa2_n < coalesce(pa1_at[x.k + 1], 2147483647) THEN string_to_array(seg[x.pa2_n], '*') END AS pa2,
           coalesce(nullif(btrim(x.pa1[2]), ''), substring(btrim(x.pa1[4]) FROM '^[A-Za-z0-9]{1,6}$')) AS selection
      FROM (SELECT u.k::integer AS k, u.n, string_to_array(seg[u.n], '*') AS pa1,
                   array_position(tags, 'PA2', u.n) AS pa2_n
              FROM unnest(pa1_at) WITH ORDINALITY AS u(n, k) OFFSET 0) x
  ), pay AS MATERIALIZED (
    -- (the enclosing selection looked up only for a PA7 line without its own PA701)
    SELECT coalesce(nullif(btrim(split_part(seg[p.n], '*', 2)), ''),
                    (SELECT sel.selection FROM sel WHERE sel.k = width_bucket(p.n, pa1_at))) AS selection,
           array_agg(seg[p.n] ORDER BY p.n) AS pa7
      FROM unnest(array_positions(tags, 'PA7')) AS p(n)
     WHERE p.n > pa1_at[1]
     GROUP BY 1
  ), ins_sel AS (
    INSERT INTO dex.read_selections (read_id, company_id, selection, price, product_code, capacity,
                                     vends_init, value_init, vends_reset, value_reset, pa7)
    SELECT DISTINCT ON (sel.selection) r_id, cid, sel.selection, dex.num(sel.pa1[3]),
           CASE WHEN btrim(sel.pa1[2]) <> '' THEN nullif(btrim(sel.pa1[4]), '') END, dex.num(sel.pa1[5]),
           dex.num(sel.pa2[2]), dex.num(sel.pa2[3]), dex.num(sel.pa2[4]), dex.num(sel.pa2[5]),
           coalesce(pay.pa7, '{}')
      FROM sel LEFT JOIN pay ON pay.selection = sel.selection
     WHERE coalesce(sel.selection, '') <> ''
     ORDER BY sel.selection, sel.n
    RETURNING 1
  )
  SELECT (SELECT count(*)::int FROM ins_sel), (SELECT count(*)::int FROM sel),
         (SELECT count(*)::int FROM sel WHERE btrim(sel.pa1[2]) = '' AND sel.selection <> '')
    INTO n_sel, n_pa1, n_pa103;
  IF n_pa103 > 0 THEN
    after_warn := after_warn || format('%s PA1 line(s) with an empty PA101: selection number taken from PA103', n_pa103);
  END IF;
  IF n_pa1 > n_sel THEN
    after_warn := after_warn || format('%s PA1 line(s) without a selection id or repeating one: ignored', n_pa1 - n_sel);
  END IF;

  -- The other records in one statement (one plan):
  -- VA1/VA2/VA3/CA2/DA2/DB2/TA2 totals, all "init first" (value, count, value, count);
  -- CA17 coin tubes keyed by coin value (two tubes of one coin are added up);
  -- EA1 events (one line per occurrence) and EA2 per-code counters (reset first) with the
  -- "active now" flag EA205 - EA3/EA7 are read bookkeeping, not events;
  -- MA5 temperatures decoded per model and firmware, detected checked against desired
  -- (a scale in doubt keeps the raw value and warns; undecodable lines are flagged).
  WITH ins_totals AS (
    INSERT INTO dex.read_totals (read_id, company_id, record, value_init, count_init, value_reset, count_reset)
    SELECT r_id, cid, l.record, dex.num(l.e[2]), dex.num(l.e[3]), dex.num(l.e[4]), dex.num(l.e[5])
      FROM (SELECT t.record, string_to_array(seg[array_position(tags, t.record)], '*') AS e
              FROM unnest('{VA1,VA2,VA3,CA2,DA2,DB2,TA2}'::text[]) AS t(record) OFFSET 0) l
     WHERE l.e IS NOT NULL
  ), ins_tubes AS (
    INSERT INTO dex.read_tubes (read_id, company_id, coin_value, coin_types, coins, coins_filled, coins_paid_out, tube_full)
    SELECT r_id, cid, dex.num(l.e[3]), coalesce(string_agg(btrim(l.e[2]), ',' ORDER BY l.n), ''),
           sum(dex.num(l.e[4]))::bigint, sum(dex.num(l.e[5]))::bigint, sum(dex.num(l.e[6]))::bigint,
           coalesce(bool_or(btrim(l.e[7]) = '1'), false)
      FROM (SELECT p.n, string_to_array(seg[p.n], '*') AS e FROM unnest(array_positions(tags, 'CA17')) AS p(n) OFFSET 0) l
     WHERE dex.num(l.e[3]) > 0
     GROUP BY dex.num(l.e[3])
    RETURNING coin_value, coins
  ), ins_events AS (
    INSERT INTO dex.read_events (read_id, company_id, line_no, record, code, occurred_at, duration,
                                 count_reset, count_init, active, raw)
    SELECT r_id, cid, l.n, l.e[1], coalesce(btrim(l.e[2]), ''),
           CASE WHEN l.e[1] = 'EA1' THEN dex.machine_time(l.e[3], l.e[4]) END,
           CASE WHEN l.e[1] = 'EA1' THEN dex.num(l.e[5]) END,
           CASE WHEN l.e[1] = 'EA2' THEN dex.num(l.e[3]) END,
           CASE WHEN l.e[1] = 'EA2' THEN dex.num(l.e[4]) END,
           CASE WHEN l.e[1] = 'EA2' THEN CASE btrim(l.e[6]) WHEN '1' THEN true WHEN '0' THEN false END END,
           l.line
      FROM (SELECT p.n, seg[p.n] AS line, string_to_array(seg[p.n], '*') AS e
              FROM unnest(array_positions(tags, 'EA1') || array_positions(tags, 'EA2')) AS p(n)
             ORDER BY p.n OFFSET 0) l
  ), temps AS MATERIALIZED (
    SELECT * FROM dex.ma5_temperatures(m.model, firmware, seg)
  ), ins_temps AS (
    INSERT INTO dex.read_temperatures (read_id, company_id, line_no, reading, celsius, raw_value, scale, decoder_id, raw)
    SELECT r_id, cid, t.line_no, t.reading, t.celsius, t.raw_value, t.scale, t.decoder_id, t.line
      FROM temps t WHERE t.reading IS NOT NULL
    RETURNING line_no, reading, celsius
  )
  SELECT (SELECT sum(t.coin_value * t.coins)::bigint FROM ins_tubes t),
         (SELECT coalesce(jsonb_agg(jsonb_build_object('coin_value', t.coin_value, 'coins', t.coins,
                                                       'value', t.coin_value * t.coins) ORDER BY t.coin_value), '[]')
            FROM ins_tubes t),
         (SELECT t.celsius FROM ins_temps t WHERE t.reading = 'current' ORDER BY t.line_no LIMIT 1),
         (SELECT t.celsius FROM ins_temps t WHERE t.reading = 'target' ORDER BY t.line_no LIMIT 1),
         ARRAY(SELECT t.warning FROM temps t WHERE t.warning IS NOT NULL ORDER BY t.line_no)
    INTO tubes_sum, tubes_json, temp_current, temp_target, undecoded;
  after_warn := after_warn || undecoded;
  IF tubes_sum IS DISTINCT FROM dex.num(split_part(h.ca15, '*', 2)) AND tubes_sum IS NOT NULL
     AND dex.num(split_part(h.ca15, '*', 2)) IS NOT NULL THEN
    after_warn := after_warn || format('CA15 tube value %s <> sum of CA17 tubes %s',
                                       dex.num(split_part(h.ca15, '*', 2)), tubes_sum);
  END IF;

  -- A late read is history only: no errors, sales, planogram or summary from old data.
  IF late THEN
    warn := warn || after_warn;
    UPDATE dex.reads r SET warnings = warn WHERE r.id = r_id;
    RETURN jsonb_build_object('read_id', r_id, 'block', v_block, 'crc_status', crc.status, 'se_status', se_status,
                              'selections', n_sel, 'vends_delta', NULL, 'revenue_delta', NULL, 'delta_kind', v_kind,
                              'warnings', to_jsonb(warn));
  END IF;

  -- Faults: every code of a MA5*ERROR line - the first element, and each later one with a
  -- letter in it (`MA5*ERROR*CJ06*CJ07` is two codes; numbers after the code are detail,
  -- as Dixie-Narco's time and date in `MA5*ERROR*CJ9*1707*351010`, and so is text with
  -- spaces) - and EA2 events flagged active (EA206.. kept as detail, e.g.
  -- OVERRUN), minus what dex.fault_codes says is no fault for this make (code 0, the EGS
  -- door opened for the read). One open error per code: a code reported again continues
  -- its open error; one an operator resolved that the next read still reports was not
  -- fixed and reopens; one that comes back later, after resolution, is a new error.
  WITH lines AS (
    SELECT l.n, l.e, l.e[1] AS source,
           CASE l.e[1] WHEN 'MA5' THEN
             nullif(array_to_string(ARRAY(SELECT btrim(x.v) FROM unnest(l.e[4:]) WITH ORDINALITY x(v, i)
                                           WHERE btrim(x.v) <> '' AND NOT dex.ma5_error_code(x.v)
                                           ORDER BY x.i), '*'), '')
           ELSE nullif(array_to_string(l.e[7:], '*'), '') END AS detail
      FROM (SELECT p.n, string_to_array(seg[p.n], '*') AS e
              FROM unnest(array_positions(tags, 'MA5') || array_positions(tags, 'EA2')) AS p(n) OFFSET 0) l
     WHERE (l.e[1] = 'MA5' AND upper(btrim(l.e[2])) = 'ERROR')
        OR (l.e[1] = 'EA2' AND btrim(l.e[6]) = '1')
  ), codes AS (
    SELECT ln.source, btrim(c.code) AS code, ln.detail, ln.n
      FROM lines ln
      CROSS JOIN LATERAL unnest(CASE ln.source WHEN 'MA5' THEN ln.e[3:3] || ARRAY(SELECT x FROM unnest(ln.e[4:]) x
                                                                                 WHERE dex.ma5_error_code(x))
                                                      ELSE ln.e[2:2] END) c(code)
     WHERE btrim(c.code) <> '' AND btrim(c.code) !~ '\s'
  ), reported AS (
    SELECT x.source, x.code, (array_agg(x.detail ORDER BY x.n) FILTER (WHERE x.detail IS NOT NULL))[1] AS detail
      FROM codes x
     WHERE coalesce((SELECT f.is_fault FROM dex.fault_codes f
                      WHERE f.source = x.source AND m.model ILIKE f.model_pattern AND x.code ~* f.code_regex
                      ORDER BY f.model_pattern = '%', length(f.model_pattern) DESC, f.id LIMIT 1), true)
     GROUP BY x.source, x.code
  ), continued AS (
    UPDATE dex.machine_errors me
       SET last_read_id = r_id, last_seen_at = cap.received_at, reads = me.reads + 1,
           detail = coalesce(x.detail, me.detail),
           resolved_at = NULL, resolved_by = NULL,
           reopened_at = CASE WHEN me.resolved_at IS NOT NULL THEN cap.received_at ELSE me.reopened_at END
      FROM reported x
     WHERE me.machine_id = m.id AND me.source = x.source AND me.code = x.code
       AND (me.resolved_at IS NULL OR (prev_id IS NOT NULL AND me.last_read_id = prev_id))
    RETURNING me.source, me.code
  )
  INSERT INTO dex.machine_errors (machine_id, company_id, source, code, detail, first_read_id, last_read_id,
                                  first_seen_at, last_seen_at)
  SELECT m.id, cid, x.source, x.code, x.detail, r_id, r_id, cap.received_at, cap.received_at
    FROM reported x
   WHERE NOT EXISTS (SELECT 1 FROM continued c WHERE c.source = x.source AND c.code = x.code);

  -- Sales per selection since the previous read (since-init counters), flagged on wrap/reset.
  IF prev_id IS NOT NULL THEN
    WITH d AS (
      INSERT INTO dex.sales_deltas (read_id, company_id, machine_id, selection, previous_read_id, sold_at,
                                    vends, revenue, kind)
      SELECT r_id, cid, m.id, c.selection, prev_id, rt.read_at,
             CASE WHEN k.kind = 'reset' THEN c.vends_init ELSE dvs.delta END,
             CASE WHEN k.kind = 'reset' THEN c.value_init ELSE vvs.delta END, k.kind
        FROM dex.read_selections c
        JOIN dex.read_selections p ON p.read_id = prev_id AND p.selection = c.selection
        CROSS JOIN LATERAL dex.counter_delta(p.vends_init, c.vends_init) dvs
        CROSS JOIN LATERAL dex.counter_delta(p.value_init, c.value_init) vvs
        CROSS JOIN LATERAL (SELECT CASE WHEN 'reset' IN (dvs.kind, vvs.kind) THEN 'reset'
                                        WHEN 'wrap' IN (dvs.kind, vvs.kind) THEN 'wrap'
                                        ELSE 'normal' END AS kind) k
       WHERE c.read_id = r_id AND dvs.kind <> 'unavailable' AND vvs.kind <> 'unavailable'
         AND (dvs.delta <> 0 OR vvs.delta <> 0 OR k.kind <> 'normal')
      UNION ALL
      -- Selections with only since-reset counters (PA203/PA204): cleared by every read, so
      -- the values are the sales since the previous read; a re-report (EA3 counter did not
      -- advance) has booked them already.
      SELECT r_id, cid, m.id, c.selection, prev_id, rt.read_at, coalesce(c.vends_reset, 0),
             coalesce(c.value_reset, 0), 'since_reset'
        FROM dex.read_selections c
       WHERE c.read_id = r_id AND c.vends_init IS NULL AND c.value_init IS NULL
         AND (c.vends_reset <> 0 OR c.value_reset <> 0) AND count_order IS DISTINCT FROM 0
      RETURNING selection, kind
    )
    SELECT string_agg(d.selection, ', ' ORDER BY d.selection) FILTER (WHERE d.kind = 'wrap') AS wrapped,
           string_agg(d.selection, ', ' ORDER BY d.selection) FILTER (WHERE d.kind = 'reset') AS reset
      INTO kinds FROM d;
    IF kinds.wrapped IS NOT NULL THEN
      after_warn := after_warn || format('since-init counters wrapped at 10^8 for selection(s) %s', kinds.wrapped);
    END IF;
    IF kinds.reset IS NOT NULL THEN
      after_warn := after_warn || format('since-init counters went back for selection(s) %s: controller reset? sales counted from 0',
                                         kinds.reset);
    END IF;
  END IF;
  IF dv_kind = 'wrap' OR vv_kind = 'wrap' THEN
    after_warn := after_warn || format('VA1 since-init counters wrapped at 10^%s',
                                       length(coalesce(CASE WHEN vv_kind = 'wrap' THEN chk_value.modulus END,
                                                       CASE WHEN vv_kind = 'wrap' THEN prev_read.va1_value_modulus END,
                                                       CASE WHEN dv_kind = 'wrap' THEN chk_count.modulus END,
                                                       CASE WHEN dv_kind = 'wrap' THEN prev_read.va1_count_modulus END,
                                                       100000000)::text) - 1);
  ELSIF dv_kind = 'reset' OR vv_kind = 'reset' THEN
    after_warn := after_warn || 'VA1 since-init counters went back: controller reset? sales counted from 0'::text;
  END IF;

  -- Planogram: written only when a slot is new or changed - most reads change nothing,
  -- which a comparison with the previous read's selections tells cheaply.
  IF prev_id IS NULL OR EXISTS (
       (SELECT c.selection, c.price, c.product_code, c.capacity FROM dex.read_selections c WHERE c.read_id = r_id)
       EXCEPT
       (SELECT p.selection, p.price, p.product_code, p.capacity FROM dex.read_selections p WHERE p.read_id = prev_id)) THEN
    INSERT INTO dex.machine_slots AS s (machine_id, company_id, selection, product_code, product_id, price, capacity,
                                        first_read_id, changed_read_id)
    SELECT m.id, cid, c.selection, c.product_code, p.id, c.price, c.capacity, r_id, r_id
      FROM dex.read_selections c
      LEFT JOIN dex.products p ON p.company_id = cid AND p.product_code = c.product_code
     WHERE c.read_id = r_id
    ON CONFLICT (machine_id, selection) DO UPDATE
       SET product_code = excluded.product_code, product_id = excluded.product_id, price = excluded.price,
           capacity = excluded.capacity, changed_read_id = excluded.changed_read_id, updated_at = now()
     WHERE (s.product_code, s.product_id, s.price, s.capacity)
           IS DISTINCT FROM (excluded.product_code, excluded.product_id, excluded.price, excluded.capacity);
  END IF;

  IF after_warn <> '{}' THEN
    warn := warn || after_warn;
    UPDATE dex.reads r SET warnings = warn WHERE r.id = r_id;
  END IF;

  -- Cash box, bill validator and hand-filled cash figures (sql/60_dex/38_cash.sql).
  PERFORM dex.book_read_cash(r_id, m, seg, tags);

  -- The fleet summary row, current as of this transaction.
  UPDATE dex.machine_state s
     SET last_capture_id = cap.id, last_read_id = r_id, last_read_at = rt.read_at, last_read_time_source = rt.source,
         last_received_at = cap.received_at, reads = s.reads + 1,
         firmware = coalesce(nullif(btrim(split_part(h.cb1, '*', 4)), ''), s.firmware),
         temperature_c = temp_current, target_temperature_c = temp_target, tubes = tubes_json,
         tubes_value = coalesce(tubes_sum, dex.num(split_part(h.ca15, '*', 2))),
         product_count = n_sel,
         unresolved_errors = (SELECT count(*) FROM dex.machine_errors e
                               WHERE e.machine_id = m.id AND e.resolved_at IS NULL),
         updated_at = now()
   WHERE s.machine_id = m.id;

  RETURN jsonb_build_object(
    'read_id', r_id, 'block', v_block, 'crc_status', crc.status, 'se_status', se_status,
    'read_at', rt.read_at, 'read_at_source', rt.source,
    'selections', n_sel,
    'vends_delta', v_vends, 'revenue_delta', v_revenue, 'delta_kind', v_kind,
    'warnings', to_jsonb(warn));
END $$;

-- Ingest one raw file for the machine with this case serial: the entry point behind
-- api.dex_ingest (which adds idempotency). SECURITY DEFINER owned by dex_service, so the
-- lookup and every write are under row-level security: another company's machine is
-- "not found". Never raises on content: a file with no complete block is stored as
-- `rejected` with its reason. The same file again for the machine is `duplicate`.
CREATE OR REPLACE FUNCTION dex.ingest(case_serial text, raw text, source text, captured_at timestamptz DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m          dex.machines;
  sha        bytea := sha256(convert_to(raw, 'UTF8'));
  prior      dex.captures;
  cap        dex.captures;
  blk        record;
  lines      text[];     -- the file's lines (blank: NULL), DXS lines starting at DXS
  line_tags  text[];     -- each line's tag: its text up to the first '*'
  dxs_at     integer[];  -- the DXS lines' numbers: block b starts at dxs_at[b]
  block_end  integer;
  st_at      integer;
  dxe_at     integer;
  block_serial text;     -- the block's ID101
  n_blocks   integer := 0;
  n_complete integer := 0;
  home_serial text;      -- ID101 of the first complete block: the channel machine's blocks
  target     dex.machines;
  other_id   bigint;
  n_match    bigint;
  reads      jsonb := '[]'::jsonb;
  one        jsonb;
  all_warn   text[] := '{}'::text[];
  problems   text[] := '{}'::text[];
  crc_rank   CONSTANT text[] := ARRAY['ok', 'ok_swapped', 'ok_no_final_crlf', 'not_computed', 'absent', 'mismatch'];
  se_rank    CONSTANT text[] := ARRAY['ok', 'absent', 'mismatch'];
  worst_crc  text;
  worst_se   text;
  reason     text;
  err_state  text;
  err_text   text;
  -- A DEX audit holds one block, a few with retries; thousands would only burn the
  -- request's time (one sub-transaction each).
  n_dxs      CONSTANT integer := (octet_length(raw) - octet_length(replace(raw, 'DXS*', ''))) / 4;
  too_many   boolean := n_dxs > 100;
BEGIN
  SELECT * INTO m FROM dex.machines mm WHERE mm.case_serial = ingest.case_serial;
  IF NOT FOUND THEN
    PERFORM core.raise_error('MACHINE_NOT_FOUND', format('no machine with case serial %s', ingest.case_serial),
                             jsonb_build_object('case_serial', ingest.case_serial));
  END IF;
  -- One ingest per machine at a time: deltas need a stable "previous read", and a
  -- concurrent duplicate waits here, then finds the first one's capture.
  PERFORM 1 FROM dex.machine_state s WHERE s.machine_id = m.id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    PERFORM core.raise_error('SERVER_ERROR', format('machine %s has no state row', m.case_serial));
  END IF;

  SELECT * INTO prior FROM dex.captures c WHERE c.machine_id = m.id AND c.sha256 = sha;
  IF FOUND THEN
    RETURN jsonb_build_object(
      'capture_id', prior.id, 'status', 'duplicate', 'original_status', prior.status,
      'crc_status', prior.crc_status, 'se_status', prior.se_status,
      'warnings', jsonb_build_array(format('the same file was received at %s as capture %s: counted once',
                                           prior.received_at, prior.id)),
      'reads', '[]'::jsonb);
  END IF;

  INSERT INTO dex.captures (machine_id, company_id, source, submitted_by, raw, sha256, bytes, parser_version,
                            status, reject_reason, captured_at)
  VALUES (m.id, m.company_id, source, core.principal(), raw, sha, octet_length(raw), dex.parser_version(),
          'rejected', 'being parsed', ingest.captured_at)
  RETURNING * INTO cap;

  -- Framing: lines end with CRLF, LF or a bare CR; DXS* may sit anywhere in a line (a
  -- wrapper header or preamble before it); every DXS starts a block; text after a
  -- block's DXE is ignored; blank lines are dropped. `lines` keeps the file's line numbers
  -- (a blank line is NULL there), `line_tags` each line's tag ('DXS*' for a line where a
  -- block starts: a bare 'DXS' starts none), `dxs_at` the DXS lines; a block's ST and DXE
  -- are then found by position, no sort or scan per block.
  IF NOT too_many THEN
    SELECT array_agg(x.line ORDER BY x.n),
           array_agg(CASE WHEN x.pos > 0 THEN 'DXS*' ELSE split_part(x.line, '*', 1) END ORDER BY x.n)
      INTO lines, line_tags
      FROM (SELECT u.n::integer AS n, p.pos,
                   CASE WHEN btrim(u.line) = '' THEN NULL WHEN p.pos > 0 THEN substr(u.line, p.pos) ELSE u.line END AS line
              FROM unnest(string_to_array(replace(replace(raw, E'\r\n', E'\n'), E'\r', E'\n'), E'\n'))
                     WITH ORDINALITY AS u(line, n)
             CROSS JOIN LATERAL (SELECT strpos(u.line, 'DXS*') AS pos) p) x;
    dxs_at := array_positions(line_tags, 'DXS*');
  END IF;
  FOR b IN 1 .. coalesce(array_length(dxs_at, 1), 0) LOOP
    -- Block b: its DXS line up to the next DXS line (or the end); seg = ST .. the line before DXE.
    block_end := coalesce(dxs_at[b + 1], array_length(lines, 1) + 1);
    st_at := array_position(line_tags, 'ST', dxs_at[b]);
    dxe_at := array_position(line_tags, 'DXE', dxs_at[b]);
    SELECT b AS block, dxs_at[b] AS dxs_n, lines[dxs_at[b]] AS dxs_line,
           CASE WHEN st_at < block_end THEN st_at END AS st_n, CASE WHEN dxe_at < block_end THEN dxe_at END AS dxe_n,
           array_remove(lines[st_at:dxe_at - 1], NULL) AS seg, array_remove(line_tags[st_at:dxe_at - 1], NULL) AS tags
      INTO blk;
    n_blocks := n_blocks + 1;
    IF blk.dxe_n IS NULL OR blk.st_n IS NULL OR blk.st_n > blk.dxe_n THEN
      problems := problems || format('block %s (line %s): %s; stored raw, booked nothing', blk.block, blk.dxs_n,
                                     CASE WHEN blk.dxe_n IS NULL THEN 'no DXE - an interrupted transfer'
                                          ELSE 'no ST segment before DXE' END);
      CONTINUE;
    END IF;
    -- One file may hold several machines (a handheld's bulk upload). The channel's machine
    -- takes the blocks with the first complete block's ID101; a block naming another serial
    -- goes to the machine of the caller's company registered under it (its case serial, or
    -- the ID101 its latest read reported - one machine only, placeholders shared by many
    -- machines never route), else it is rejected: booked to the wrong machine its counters
    -- would turn into false sales and resets.
    n_complete := n_complete + 1;
    -- ID101: of the block's first ID1 after its ST.
    block_serial := nullif(btrim(split_part(blk.seg[array_position(blk.tags, 'ID1', 2)], '*', 2)), '');
    IF n_complete = 1 THEN
      home_serial := block_serial;
    END IF;
    target := m;
    IF block_serial IS DISTINCT FROM home_serial AND block_serial IS NOT NULL AND home_serial IS NOT NULL THEN
      SELECT count(*), min(mm.id) INTO n_match, other_id
        FROM dex.machines mm
       WHERE mm.company_id = m.company_id AND mm.id <> m.id
         AND (mm.case_serial = block_serial
              OR mm.id IN (SELECT s.machine_id FROM dex.machine_state s JOIN dex.reads r ON r.id = s.last_read_id
                            WHERE s.company_id = m.company_id AND r.id1_serial = block_serial));
      IF n_match <> 1 THEN
        problems := problems || format('block %s (line %s): ID101 %s is not the file''s machine (%s) and %s; booked nothing',
                                       blk.block, blk.dxs_n, block_serial, home_serial,
                                       CASE WHEN n_match = 0 THEN format('no machine of company %s is registered under it',
                                                                        m.company_id)
                                            ELSE format('%s machines of company %s report it', n_match, m.company_id) END);
        CONTINUE;
      END IF;
      SELECT * INTO target FROM dex.machines mm WHERE mm.id = other_id;
      PERFORM 1 FROM dex.machine_state s WHERE s.machine_id = target.id FOR NO KEY UPDATE;
      problems := problems || format('block %s (line %s): ID101 changes from %s to %s: booked to machine %s',
                                     blk.block, blk.dxs_n, home_serial, block_serial, target.case_serial);
    END IF;
    BEGIN
      one := dex.book_read(cap, target, blk.block, blk.dxs_line, blk.seg, blk.tags);
      IF target.id <> m.id THEN
        one := one || jsonb_build_object('case_serial', target.case_serial);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      -- A parser defect must not lose the file or fail the request: the block's partial
      -- writes are rolled back (sub-transaction) and the capture records why.
      GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, err_text = MESSAGE_TEXT;
      problems := problems || format('block %s (line %s): parser error %s (%s); booked nothing',
                                     blk.block, blk.dxs_n, err_state, err_text);
      CONTINUE;
    END;
    reads := reads || one;
    worst_crc := CASE WHEN array_position(crc_rank, one ->> 'crc_status') > coalesce(array_position(crc_rank, worst_crc), 0)
                      THEN one ->> 'crc_status' ELSE worst_crc END;
    worst_se := CASE WHEN array_position(se_rank, one ->> 'se_status') > coalesce(array_position(se_rank, worst_se), 0)
                     THEN one ->> 'se_status' ELSE worst_se END;
  END LOOP;

  -- Capture warnings: the blocks' problems, then each read's warnings (prefixed with the
  -- block number when the file held several blocks).
  all_warn := problems || ARRAY(
    SELECT CASE WHEN n_blocks > 1 THEN format('block %s: %s', r ->> 'block', w) ELSE w END
      FROM jsonb_array_elements(reads) r, jsonb_array_elements_text(r -> 'warnings') w);
  reason := CASE
    WHEN jsonb_array_length(reads) > 0 THEN NULL
    WHEN too_many THEN format('%s DXS blocks: more than 100 is not an audit file', n_dxs)
    WHEN raw !~ '\S' THEN 'empty file'
    WHEN n_blocks = 0 THEN 'no DXS header: not a DEX audit file'
    WHEN n_complete > 0 THEN 'no block could be booked: ' || array_to_string(problems, '; ')
    ELSE 'no complete DXS..DXE block: ' || array_to_string(problems, '; ') END;

  UPDATE dex.captures c
     SET status = CASE WHEN reason IS NULL THEN 'accepted' ELSE 'rejected' END, reject_reason = reason,
         crc_status = worst_crc, se_status = worst_se, warnings = all_warn
   WHERE c.id = cap.id;

  RETURN jsonb_build_object(
    'capture_id', cap.id, 'status', CASE WHEN reason IS NULL THEN 'accepted' ELSE 'rejected' END,
    'reject_reason', reason, 'crc_status', worst_crc, 'se_status', worst_se,
    'warnings', to_jsonb(all_warn), 'reads', reads);
END $$;
ALTER FUNCTION dex.ingest(text, text, text, timestamptz) OWNER TO dex_service;
