-- Error code -> HTTP status: the one mapping (table core.error_codes, migration 0900).
-- Every code an api function raises (core.raise_error, ledger's KL000 trigger) or
-- declines with (core.decline), and every code the RPC server answers with itself. A new
-- decline is a row here plus the function that uses it; running servers pick it up on
-- the NOTIFY that migrate sends. A code missing here answers 500 (and the server logs a
-- warning): an unknown code is a bug, not the client's fault.
-- This file is the whole truth: codes no longer listed are deleted.
-- tests/integration/test_error_codes.py holds the list and the code to each other.
WITH listed (code, http_status, description) AS (VALUES
  ('INVALID_REQUEST',          400, 'the request is malformed: bad JSON, a missing, unknown or ill-typed argument, an invalid value'),
  ('INVALID_SIGNATURE',        400, 'a Stripe webhook whose signature does not verify'),
  ('UNAUTHENTICATED',          401, 'no valid bearer token, and the function needs one'),
  ('INVALID_LOGIN',            401, 'decline: wrong email or password (an unknown email and a disabled account answer the same); counted towards the lockout'),
  ('INVALID_REFRESH_TOKEN',    401, 'decline: the refresh token is unknown, expired, revoked or already spent (a spent one revokes its whole session); log in again'),
  ('INSUFFICIENT_FUNDS',       402, 'decline: the balance does not cover the amount'),
  ('PAYMENT_NOT_CONFIRMED',    402, 'decline: the World App payment is not mined, or its reference or amount does not match'),
  ('FORBIDDEN',                403, 'the caller''s role or claims do not allow this call or this object'),
  ('CARD_NOT_ACTIVE',          403, 'decline: the card is not active (frozen or blocked)'),
  ('REFUND_CODE_INVALID',      403, 'decline: the refund code does not match the card (counted towards the lockout)'),
  ('REFUND_CODE_NOT_SET',      403, 'decline: the card has no refund code (issued before codes); its refund is filed at a refund desk'),
  ('PERSON_LIMIT_REACHED',     403, 'decline: this World ID reached its 24-hour ATM limit'),
  ('WORLD_ID_INVALID',         403, 'the World ID verifier rejected the proof'),
  ('CURRENT_PASSWORD_INVALID', 403, 'decline: the current password given to change one''s own password is wrong (counted towards the login lockout)'),
  ('NOT_FOUND',                404, 'no such api function'),
  ('ACCOUNT_NOT_FOUND',        404, 'no such ledger account'),
  ('CARD_NOT_FOUND',           404, 'no such festival card'),
  ('COMPANY_NOT_FOUND',        404, 'no such vending company'),
  ('ERROR_NOT_FOUND',          404, 'no such vending machine error'),
  ('INTENT_NOT_FOUND',         404, 'no such recharge intent'),
  ('JOB_NOT_FOUND',            404, 'no such dispense job for this kiosk'),
  ('KIOSK_NOT_FOUND',          404, 'no such kiosk'),
  ('MACHINE_NOT_FOUND',        404, 'no such vending machine'),
  ('SLOT_NOT_FOUND',           404, 'no such selection in the vending machine (neither reported nor in its planogram)'),
  ('LOCATION_NOT_FOUND',       404, 'no such vending location'),
  ('PRODUCT_NOT_FOUND',        404, 'no such product: on the bar menu (bar_order), or among the vending products of the machine''s company'),
  ('TRANSACTION_NOT_FOUND',    404, 'no such ATM transaction'),
  ('ATM_REFUND_NOT_FOUND',     404, 'no such ATM refund'),
  ('USER_NOT_FOUND',           404, 'no such staff, operator or admin login account'),
  ('REFUND_EXPORT_NOT_FOUND',  404, 'no such festival refund export (SEPA file)'),
  ('ALERT_NOT_FOUND',          404, 'no such alert (or one of another company)'),
  ('METHOD_NOT_ALLOWED',       405, 'an HTTP method other than POST, or GET for a function that changes data'),
  ('CONFLICT',                 409, 'the object already exists or its state does not allow this now, or a concurrent update (retry)'),
  ('ALREADY_PAID',             409, 'decline: the ATM transaction is no longer pending'),
  ('DEPOSIT_NOT_OUTSTANDING',  409, 'decline: the card holds fewer deposits than are being returned'),
  ('NOTHING_TO_REFUND',        409, 'decline: after the refund fee nothing is left on the card'),
  ('PAYMENT_ALREADY_USED',     409, 'decline: the World App payment is already booked (it paid a transaction, or is due back)'),
  ('REFUND_ALREADY_SETTLED',   409, 'decline: the ATM refund was already settled'),
  ('REFUND_ALREADY_REQUESTED', 409, 'decline: the card already has a refund'),
  ('REQUEST_ID_EXPIRED',       409, 'the request_id was used longer ago than idempotency records are kept: its request took effect, its answer is gone'),
  ('EMAIL_TAKEN',              409, 'a login account with this email (compared case-insensitively) exists'),
  ('EXPIRED',                  410, 'decline: the ATM transaction has expired'),
  ('PAYLOAD_TOO_LARGE',        413, 'the request body is over the server''s limit'),
  ('UNSUPPORTED_MEDIA_TYPE',   415, 'a request body that is not JSON (form-encoded, text): the API takes a JSON object of named arguments'),
  ('IDEMPOTENCY_MISMATCH',     422, 'the request_id was already used with different arguments'),
  ('REFUND_CODE_LOCKED',       429, 'decline: too many wrong refund codes for the card; refunds by code are locked until details.locked_until'),
  ('ACCOUNT_LOCKED',           429, 'decline: too many failed logins for the email; logins are locked until details.locked_until (or an admin unlocks the account)'),
  ('HEADERS_TOO_LARGE',        431, 'the request line and headers are over the server''s limit'),
  ('SERVER_ERROR',             500, 'an internal error; the answer carries no internals'),
  ('PAYMENT_PROVIDER_ERROR',   502, 'Stripe refused to create the checkout session'),
  ('DATABASE_UNAVAILABLE',     503, 'the database is unreachable or no connection is free'),
  ('SERVICE_UNAVAILABLE',      503, 'a payment or identity provider is unreachable or not configured'),
  ('TOO_MANY_STREAMS',         503, 'the server already serves as many live event streams (GET /events) as it allows; retry later'),
  ('TIMEOUT',                  504, 'the call ran past the statement timeout')
), upserted AS (
  INSERT INTO core.error_codes AS e (code, http_status, description)
  SELECT code, http_status, description FROM listed
  ON CONFLICT (code) DO UPDATE SET http_status = excluded.http_status, description = excluded.description
)
DELETE FROM core.error_codes e WHERE NOT EXISTS (SELECT 1 FROM listed l WHERE l.code = e.code);
