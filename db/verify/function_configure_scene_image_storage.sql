-- Verify scene-images:function_configure_scene_image_storage on pg

BEGIN;

DO $$
BEGIN
    ASSERT NOT pg_catalog.has_function_privilege('service_role', 'public.configure_scene_image_storage(text, jsonb)', 'execute'),
        'service_role can configure storage';
    ASSERT NOT pg_catalog.has_function_privilege('authenticated', 'public.configure_scene_image_storage(text, jsonb)', 'execute'),
        'authenticated can configure storage';
END
$$;

ROLLBACK;
