-- Verify scene-images:extension_plpython3u on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Raises when the extension is missing.
SELECT 1 / count(*) FROM pg_catalog.pg_extension WHERE extname = 'plpython3u';

ROLLBACK;
