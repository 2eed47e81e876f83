"""The operator's tools behind the `kioskledger` command: migrate, the local cluster,
provisioning, DEX bulk import, Stripe test events, tokens."""
