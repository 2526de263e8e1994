-- Verify scene-images:roles_client on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its role is missing.
SELECT 'anon'::regrole, 'authenticated'::regrole, 'service_role'::regrole;

ROLLBACK;
