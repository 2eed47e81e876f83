-- depends: 1120.dex-planogram

-- Refills recorded by route drivers. A slot's stock is estimated as its last fill minus
-- the vends that reads booked after it: after_read_id is the machine's latest read when
-- the fill was recorded, so the sales deltas of later reads are the vends since.
CREATE TABLE dex.slot_fills (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_id     bigint      NOT NULL,
    company_id     text        NOT NULL,
    selection      text        NOT NULL CHECK (length(selection) BETWEEN 1 AND 32),
    quantity       integer     NOT NULL CHECK (quantity BETWEEN 0 AND 10000),
    filled_at      timestamptz NOT NULL DEFAULT now(),
    after_read_id  bigint      REFERENCES dex.reads,
    filled_by      text        NOT NULL,
    FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines (id, company_id)
);
CREATE INDEX slot_fills_machine_selection ON dex.slot_fills (machine_id, selection, id DESC);
-- Vends of one slot after a given read (the stock estimate).
CREATE INDEX sales_deltas_machine_selection ON dex.sales_deltas (machine_id, selection, read_id);

-- Policies: sql/60_dex/37_stock.sql.
ALTER TABLE dex.slot_fills ENABLE ROW LEVEL SECURITY;
