-- Verify scene-images:extension_plpython3u on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Raises when the extension is missing.
-- Installed wherever it could be: raises (division by zero) when it is missing although the
-- server has it and a superuser deployed; a database without it is a hosted install.
SELECT 1 / (EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u')
            OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'plpython3u')
            OR NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user))::int;

ROLLBACK;
