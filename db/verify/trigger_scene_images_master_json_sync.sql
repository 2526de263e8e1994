-- Verify scene-images:trigger_scene_images_master_json_sync on pg

BEGIN;

SELECT 1/count(*) FROM pg_catalog.pg_trigger
WHERE tgrelid = 'public.scene_images'::regclass AND tgname = 'scene_images_master_json_sync' AND tgdeferrable;

ROLLBACK;
