"""kioskledger dispenser: the kiosk-side agent (job claims, hopper driver)."""
