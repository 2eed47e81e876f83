-- depends: 1122.dex-cash

-- A location is a place a route driver goes to: a name within its company and an address.
ALTER TABLE dex.locations
    ADD COLUMN address text CHECK (address IS NULL OR length(address) BETWEEN 1 AND 500);
-- The machines of a location (fleet summary and pick list by location).
CREATE INDEX machines_location ON dex.machines (location_id);
