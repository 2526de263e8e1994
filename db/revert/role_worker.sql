-- Revert scene-images:role_worker from pg

BEGIN;

DO $$
BEGIN
    IF pg_catalog.shobj_description(
           (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'scene_images_worker'), 'pg_authid') = 'created by scene-images' THEN
        DROP ROLE scene_images_worker;
    END IF;
EXCEPTION WHEN dependent_objects_still_exist THEN
    RAISE NOTICE 'role scene_images_worker kept: objects in another database depend on it';
END
$$;

COMMIT;
