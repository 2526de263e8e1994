-- Verify scene-images:function_configure_scene_image_limits on pg

BEGIN;

DO $$
BEGIN
    ASSERT NOT pg_catalog.has_function_privilege('service_role', 'public.configure_scene_image_limits(jsonb)', 'execute'),
        'service_role can configure limits';
    ASSERT NOT pg_catalog.has_function_privilege('authenticated', 'public.configure_scene_image_limits(jsonb)', 'execute'),
        'authenticated can configure limits';
    ASSERT NOT pg_catalog.has_function_privilege('anon', 'public.configure_scene_image_limits(jsonb)', 'execute'),
        'anon can configure limits';
END
$$;

ROLLBACK;
