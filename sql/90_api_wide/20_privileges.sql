-- Last file: nothing is executable by PUBLIC; each api function above granted its roles.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA api, core, ledger, cards, kiosk, atm, checkout, dex, upkeep FROM PUBLIC;
