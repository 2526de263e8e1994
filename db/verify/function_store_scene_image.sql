-- Verify scene-images:function_store_scene_image on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.has_function_privilege('authenticated', 'public.store_scene_image(uuid, text, text, text, text, jsonb)', 'execute'),
        'authenticated cannot store';
    ASSERT NOT pg_catalog.has_function_privilege('anon', 'public.store_scene_image(uuid, text, text, text, text, jsonb)', 'execute'),
        'anon can store';
END
$$;

ROLLBACK;
