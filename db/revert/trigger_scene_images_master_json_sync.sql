-- Revert scene-images:trigger_scene_images_master_json_sync from pg

BEGIN;

DROP TRIGGER scene_images_master_json_sync ON public.scene_images;
DROP FUNCTION scene_images_internal.sync_master_json();

COMMIT;
