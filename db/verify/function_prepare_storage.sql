-- Verify scene-images:function_prepare_storage on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
-- Each cast raises when its signature is missing.
SELECT 'scene_images_internal.prepare_storage(text, jsonb)'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.prepare_storage(text, jsonb)", "definer": false, "grantees": []}
]');

-- The PL/Python side answers with its refusal (its last four results) for the PL/pgSQL caller to
-- raise; a division by zero when they differ.
SELECT 1 / coalesce(p.proargnames[pg_catalog.array_length(p.proargnames, 1) - 3:] = '{sqlstate,message,detail,hint}'
                    AND l.lanname = 'plpython3u', false)::int
FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
WHERE p.oid = 'scene_images_internal.prepare_storage(text, jsonb)'::regprocedure;
\endif

ROLLBACK;
