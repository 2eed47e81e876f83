-- depends: 0600.checkout

-- A kiosk's oldest unsynced order time is a real moment: the dashboard computes its age,
-- and an infinite one made that fail for every operator. The RPC refuses infinite
-- timestamps now; this holds the table to it for any other caller too. A stored infinite
-- report says nothing, so it becomes "none reported": the kiosk sends its next one with
-- its next sync.
UPDATE checkout.edge_backlog SET oldest_pending_at = NULL WHERE NOT isfinite(oldest_pending_at);
ALTER TABLE checkout.edge_backlog
  ADD CONSTRAINT edge_backlog_oldest_pending_at_finite CHECK (isfinite(oldest_pending_at));
