-- depends: 0700.dex-schema 1030.atm-refunds 1050.finite-backlog-times

-- Kiosks belong to a company, as vending machines do: an operator sees only its company's
-- ATM and self-checkout kiosks and what hangs off them. Kiosks registered before this
-- migration have no company: only admins see them until one is assigned.

ALTER TABLE kiosk.kiosks ADD COLUMN company_id text REFERENCES dex.companies (company_id);
CREATE INDEX kiosks_company ON kiosk.kiosks (company_id);

-- Owns the operator-facing read entry points of the kiosk domains (sql/30_kiosk,
-- sql/40_atm, sql/50_checkout): neither superuser nor table owner, without BYPASSRLS, so the
-- company policies below filter every row it reads.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'fleet_service') THEN
    CREATE ROLE fleet_service NOLOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$;

-- Policies live in sql/30_kiosk/20_company_rows.sql (they call sql/ functions); enabling RLS
-- here changes nothing for the superuser-owned functions that write these tables.
ALTER TABLE kiosk.kiosks ENABLE ROW LEVEL SECURITY;
ALTER TABLE atm.transactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE atm.dispense_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE atm.refunds ENABLE ROW LEVEL SECURITY;
ALTER TABLE atm.alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkout.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkout.order_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkout.sync_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkout.refused_orders ENABLE ROW LEVEL SECURITY;
