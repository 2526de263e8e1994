-- Verify scene-images:table_settings on pg

BEGIN;

SELECT name, value, updated_at FROM scene_images_internal.settings WHERE false;

DO $$
BEGIN
    ASSERT (SELECT value ->> 'backend' FROM scene_images_internal.settings WHERE name = 'storage') IS NOT NULL,
        'no default storage backend';
    ASSERT (SELECT value ? 'bulk_max_bytes_held' FROM scene_images_internal.settings WHERE name = 'limits'),
        'no default limits';
    ASSERT NOT pg_catalog.has_table_privilege('service_role', 'scene_images_internal.settings', 'select'),
        'service_role can read settings';
END
$$;

ROLLBACK;
