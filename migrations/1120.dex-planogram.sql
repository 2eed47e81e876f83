-- depends: 0700.dex-schema 1070.kiosk-companies

-- Products get a category, and each machine a planogram kept by the operator: which
-- product a selection holds, its capacity and its par level (below it, the slot goes on
-- the pick list). dex.machine_slots stays what the machine reports (PA1); the planogram
-- wins over it wherever it says something.
ALTER TABLE dex.products
    ADD COLUMN category    text        CHECK (category IS NULL OR length(category) BETWEEN 1 AND 100),
    ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();

CREATE TABLE dex.planogram (
    machine_id  bigint      NOT NULL,
    company_id  text        NOT NULL,
    selection   text        NOT NULL CHECK (length(selection) BETWEEN 1 AND 32),
    product_id  bigint,
    capacity    integer     CHECK (capacity BETWEEN 0 AND 10000),
    par_level   integer     CHECK (par_level >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text        NOT NULL,
    PRIMARY KEY (machine_id, selection),
    CHECK (par_level <= capacity),
    FOREIGN KEY (machine_id, company_id) REFERENCES dex.machines (id, company_id),
    FOREIGN KEY (product_id, company_id) REFERENCES dex.products (id, company_id)
);

-- Policies: sql/60_dex/35_products.sql.
ALTER TABLE dex.planogram ENABLE ROW LEVEL SECURITY;
