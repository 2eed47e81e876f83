-- depends: 1260.accounts 1070.kiosk-companies 1123.dex-location-address

-- Who made each record that a person makes: the token's subject (an account id for a
-- login, the provider's subject for an external token), as bar orders, recharges,
-- deposit returns and refunds already keep it. Rows from before this migration have none.
ALTER TABLE cards.products ADD COLUMN updated_by text;
ALTER TABLE cards.refund_exports ADD COLUMN created_by text;
ALTER TABLE dex.companies ADD COLUMN created_by text;
ALTER TABLE dex.products ADD COLUMN updated_by text;
ALTER TABLE dex.locations ADD COLUMN created_by text;
ALTER TABLE dex.machines ADD COLUMN registered_by text;
ALTER TABLE kiosk.kiosks ADD COLUMN registered_by text;
