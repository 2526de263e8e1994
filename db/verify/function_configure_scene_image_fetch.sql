-- Verify scene-images:function_configure_scene_image_fetch on pg

BEGIN;

DO $$
BEGIN
    ASSERT NOT pg_catalog.has_function_privilege('service_role', 'public.configure_scene_image_fetch(jsonb)', 'execute'),
        'service_role can configure fetching';
    ASSERT NOT pg_catalog.has_function_privilege('authenticated', 'public.configure_scene_image_fetch(jsonb)', 'execute'),
        'authenticated can configure fetching';
END
$$;

ROLLBACK;
