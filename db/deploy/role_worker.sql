-- Deploy scene-images:role_worker to pg
-- The role external queue workers log in with (or are granted): it may claim, complete and
-- fail jobs and read the settings they need, nothing else.

BEGIN;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'scene_images_worker') THEN
        CREATE ROLE scene_images_worker NOLOGIN;
        COMMENT ON ROLE scene_images_worker IS 'created by scene-images';
    END IF;
END
$$;

COMMIT;
