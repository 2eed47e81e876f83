"""kioskledger: the request protocol shared by every program (kioskledger.protocol), the
SQL the database is built from (kioskledger.resources), and the operator's tools
(kioskledger.ops, the `kioskledger` command)."""

__version__ = "0.1.0"
