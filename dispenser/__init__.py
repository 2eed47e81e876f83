"""kioskledger dispenser: the kiosk-side agent (job claims, hopper driver)."""

__version__ = "0.1.0"
