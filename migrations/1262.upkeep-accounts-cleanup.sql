-- depends: 1220.upkeep-and-alerts 1260.accounts

-- Refresh tokens past their expiry and login failures whose lockout is over are only
-- clutter (and a record of who tried which email): the schedule forgets them hourly.
INSERT INTO upkeep.jobs (name, command, every, description) VALUES
  ('accounts_cleanup', 'SELECT accounts.cleanup() AS forgotten', '1 hour',
   'forgets refresh tokens expired over a day ago and login failures whose lockout is over');
