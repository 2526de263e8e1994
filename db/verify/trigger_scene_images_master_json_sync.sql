-- Verify scene-images:trigger_scene_images_master_json_sync on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'scene_images_internal.sync_master_json()'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways (scene_images_internal.verify_routines raises naming every difference).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.sync_master_json()", "definer": true, "grantees": []}
]');

-- The trigger: a constraint trigger AFTER INSERT OR UPDATE FOR EACH ROW (tgtype 21), deferred
-- to commit, on UPDATE only OF is_current, calling our function, enabled.
SELECT 1 / count(*) FROM pg_catalog.pg_trigger
WHERE tgrelid = 'public.scene_images'::regclass AND tgname = 'scene_images_master_json_sync'
  AND tgfoid = 'scene_images_internal.sync_master_json()'::regprocedure
  AND tgtype = 21 AND tgconstraint <> 0 AND tgdeferrable AND tginitdeferred AND tgenabled <> 'D'
  AND tgattr::text = (SELECT attnum::text FROM pg_catalog.pg_attribute
                      WHERE attrelid = 'public.scene_images'::regclass AND attname = 'is_current');

ROLLBACK;
