-- The agent's SQL: only api.* functions, over the kiosk's own login (session_user says
-- which kiosk it is). Loaded by dispenser/queue.py; one named query per `-- name:` header.

-- name: whoami
-- Which kiosk this login is (the database decides), and a heartbeat with our version.
SELECT api.kiosk_heartbeat(app_version => %(app_version)s) ->> 'kiosk_id'

-- name: claim
SELECT api.dispense_claim()

-- name: begin
SELECT api.dispense_begin(%(job_id)s, %(claim_token)s)

-- name: progress
SELECT api.dispense_progress(%(job_id)s, %(claim_token)s, %(coins_paid)s)

-- name: report
-- An attempt's count from the journal; SQL answers what it settled ({outcome, job}).
SELECT api.dispense_report(%(job_id)s, %(claim_token)s, %(coins_paid)s, %(base_paid)s, %(error_code)s, %(evidence)s)

-- name: unknown
SELECT api.dispense_unknown(%(job_id)s, %(claim_token)s, %(evidence)s)

-- name: expire_leases
SELECT api.dispense_expire_leases()
