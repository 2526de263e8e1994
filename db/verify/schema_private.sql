-- Verify scene-images:schema_private on pg

BEGIN;

-- Raise (division by zero) when a role's usage is not what the access table says.
SELECT 1 / (pg_catalog.has_schema_privilege('authenticated', 'scene_images_private', 'usage')
            AND NOT pg_catalog.has_schema_privilege('anon', 'scene_images_private', 'usage'))::int;

ROLLBACK;
