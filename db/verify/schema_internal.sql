-- Verify scene-images:schema_internal on pg

BEGIN;

SELECT pg_catalog.has_schema_privilege('scene_images_internal', 'usage');

DO $$
BEGIN
    ASSERT NOT pg_catalog.has_schema_privilege('anon', 'scene_images_internal', 'usage'), 'anon can use internals';
    ASSERT NOT pg_catalog.has_schema_privilege('authenticated', 'scene_images_internal', 'usage'), 'authenticated can use internals';
    ASSERT NOT pg_catalog.has_schema_privilege('service_role', 'scene_images_internal', 'usage'), 'service_role can use internals';
END
$$;

ROLLBACK;
