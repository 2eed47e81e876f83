-- depends: 0700.dex-schema

-- Machines that fill only the since-reset side of PA2/VA1 (PA203/PA204, VA103/VA104): every
-- read clears those counters, so what a read reports is what sold since the previous read
-- of any device. Booked as `since_reset`: a read by another device (a handheld) in between
-- takes its sales with it, which the kind tells apart from since-init deltas.
ALTER TABLE dex.sales_deltas
    DROP CONSTRAINT sales_deltas_kind_check,
    ADD CONSTRAINT sales_deltas_kind_check CHECK (kind IN ('normal', 'wrap', 'reset', 'since_reset'));
ALTER TABLE dex.reads
    DROP CONSTRAINT reads_delta_kind_check,
    ADD CONSTRAINT reads_delta_kind_check
        CHECK (delta_kind IN ('baseline', 'normal', 'wrap', 'reset', 'late', 'unavailable', 'since_reset'));
