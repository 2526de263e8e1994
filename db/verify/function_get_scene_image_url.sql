-- Verify scene-images:function_get_scene_image_url on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.has_function_privilege('authenticated', 'public.get_scene_image_url(uuid, text)', 'execute'),
        'authenticated cannot execute get_scene_image_url';
    ASSERT NOT pg_catalog.has_function_privilege('anon', 'public.get_scene_image_url(uuid, text)', 'execute'),
        'anon can execute get_scene_image_url';
END
$$;

ROLLBACK;
