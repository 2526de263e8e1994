-- Verify scene-images:trigger_scene_images_versioning on pg

BEGIN;

SELECT 1/count(*) FROM pg_catalog.pg_trigger
WHERE tgrelid = 'public.scene_images'::regclass AND tgname = 'scene_images_versioning';

ROLLBACK;
