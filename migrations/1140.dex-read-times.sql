-- depends: 1123.dex-location-address 1103.dex-since-reset-sales

-- When a read happened, not only when its file arrived. A historical import would
-- otherwise put years of sales on the import day and make a 2019 file look fresh. A read's
-- time is the capture time its telemetry source states (captures.captured_at), else the
-- machine's own clock (EA3 this-read time, else ID5), else the receipt. The machine clock
-- is a wall time with no zone: it is taken as UTC (see dex.read_time).
ALTER TABLE dex.captures ADD COLUMN captured_at timestamptz;
ALTER TABLE dex.reads
    ADD COLUMN read_at        timestamptz,
    ADD COLUMN read_at_source text CHECK (read_at_source IN ('captured_at', 'machine_clock', 'received'));

-- Existing reads by the same rule (no capture times were stored before): a believable
-- machine clock (2001 or later, at most a day after receipt) wins over the receipt.
UPDATE dex.reads r
   SET read_at = CASE WHEN t.clock >= timestamp '2001-01-01' AND t.clock AT TIME ZONE 'UTC' <= r.received_at + interval '1 day'
                      THEN t.clock AT TIME ZONE 'UTC' ELSE r.received_at END,
       read_at_source = CASE WHEN t.clock >= timestamp '2001-01-01'
                              AND t.clock AT TIME ZONE 'UTC' <= r.received_at + interval '1 day'
                             THEN 'machine_clock' ELSE 'received' END
  FROM (SELECT rr.id, coalesce(rr.ea3_this_read, rr.machine_clock) AS clock FROM dex.reads rr) t
 WHERE t.id = r.id;
ALTER TABLE dex.reads ALTER COLUMN read_at SET NOT NULL, ALTER COLUMN read_at_source SET NOT NULL;
CREATE INDEX reads_machine_read_at ON dex.reads (machine_id, read_at);

UPDATE dex.sales_deltas d SET sold_at = r.read_at FROM dex.reads r WHERE r.id = d.read_id AND d.sold_at <> r.read_at;

-- The summary shows the latest read's time (the freshness has_recent_data is judged by)
-- with where it came from, and when its file arrived.
ALTER TABLE dex.machine_state
    ADD COLUMN last_received_at      timestamptz,
    ADD COLUMN last_read_time_source text CHECK (last_read_time_source IN ('captured_at', 'machine_clock', 'received'));
UPDATE dex.machine_state s
   SET last_read_at = r.read_at, last_received_at = r.received_at, last_read_time_source = r.read_at_source
  FROM dex.reads r WHERE r.id = s.last_read_id;
