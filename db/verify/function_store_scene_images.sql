-- Verify scene-images:function_store_scene_images on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.has_function_privilege('service_role', 'public.store_scene_images(uuid, jsonb)', 'execute'),
        'service_role cannot bulk store';
    ASSERT NOT pg_catalog.has_function_privilege('anon', 'public.store_scene_images(uuid, jsonb)', 'execute'),
        'anon can bulk store';
END
$$;

ROLLBACK;
