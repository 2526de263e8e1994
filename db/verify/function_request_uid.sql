-- Verify scene-images:function_request_uid on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'public.request_uid()'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "public.request_uid()", "definer": false, "grantees": ["anon", "authenticated", "service_role"]}
]');

-- request_uid reads the sub claim of request.jwt.claims (raises when it does not).
SELECT pg_catalog.set_config('request.jwt.claim.sub', '', true),
       pg_catalog.set_config('request.jwt.claims', '{"sub": "5f0c2a52-8d0e-4f43-9a51-6b0c1e2d3f40"}', true);
SELECT 1 / (public.request_uid() IS NOT DISTINCT FROM '5f0c2a52-8d0e-4f43-9a51-6b0c1e2d3f40')::int;

ROLLBACK;
