-- Verify scene-images:function_process_scene_image_jobs on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
-- Each cast raises when its signature is missing.
SELECT 'public.process_scene_image_jobs(integer)'::regprocedure,
       'scene_images_private.process_scene_image_jobs(integer)'::regprocedure,
       'scene_images_internal.try_process_scene_image_jobs(integer)'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "public.process_scene_image_jobs(integer)", "definer": false, "grantees": ["scene_images_worker"]},
    {"routine": "scene_images_private.process_scene_image_jobs(integer)", "definer": true, "grantees": ["scene_images_worker"]},
    {"routine": "scene_images_internal.try_process_scene_image_jobs(integer)", "definer": false, "grantees": []}
]');

-- The PL/Python side answers with its refusal (its last four results) for the PL/pgSQL caller to
-- raise; a division by zero when they differ.
SELECT 1 / coalesce(p.proargnames[pg_catalog.array_length(p.proargnames, 1) - 3:] = '{sqlstate,message,detail,hint}'
                    AND l.lanname = 'plpython3u', false)::int
FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
WHERE p.oid = 'scene_images_internal.try_process_scene_image_jobs(integer)'::regprocedure;
\endif

ROLLBACK;
