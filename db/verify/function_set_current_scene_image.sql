-- Verify scene-images:function_set_current_scene_image on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.has_function_privilege('authenticated', 'public.set_current_scene_image(uuid, text, integer)', 'execute'),
        'authenticated cannot execute set_current_scene_image';
    ASSERT NOT pg_catalog.has_function_privilege('anon', 'public.set_current_scene_image(uuid, text, integer)', 'execute'),
        'anon can execute set_current_scene_image';
END
$$;

ROLLBACK;
