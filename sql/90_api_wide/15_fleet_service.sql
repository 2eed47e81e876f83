-- fleet_service runs the kiosk domains' helpers inside its operator entry points. It can
-- read their tables and write none, so executing a writing function fails for it.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA kiosk, atm, checkout TO fleet_service;
