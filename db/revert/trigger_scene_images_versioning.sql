-- Revert scene-images:trigger_scene_images_versioning from pg

BEGIN;

DROP TRIGGER scene_images_versioning ON public.scene_images;
DROP FUNCTION scene_images_internal.assign_scene_image_version();
DROP FUNCTION scene_images_internal.lock_scene(uuid, text);
DROP TABLE scene_images_internal.scene_write_locks;

COMMIT;
