-- Revert scene-images:table_scene_image_jobs from pg

BEGIN;

DROP TABLE scene_images_internal.project_queue_locks;
DROP TABLE scene_images_internal.scene_image_jobs;

COMMIT;
