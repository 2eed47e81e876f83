-- depends: 0200.kiosks-and-atm

-- A World ID nullifier hash is a field element: 0x00ab, 0xAB and 0xab are one person.
-- Stored hashes take the canonical spelling the pay function now writes (lower-case hex,
-- one 0x, no leading zeros), so the 24-hour limit also counts payments made before it.
-- (Spelled out here: migrations cannot call the functions in sql/.)
UPDATE atm.transactions
   SET nullifier_hash = '0x' || coalesce(nullif(ltrim(substr(lower(nullifier_hash), 3), '0'), ''), '0')
 WHERE nullifier_hash IS NOT NULL
   AND nullifier_hash <> '0x' || coalesce(nullif(ltrim(substr(lower(nullifier_hash), 3), '0'), ''), '0');
