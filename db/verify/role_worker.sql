-- Verify scene-images:role_worker on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Raises when the role is missing.
SELECT 'scene_images_worker'::regrole;

ROLLBACK;
