-- Verify scene-images:table_scene_image_jobs on pg

BEGIN;

SELECT id, project_id, scene_id, source_url, prompt, provider, metadata, status, attempts, max_attempts, available_at,
       locked_by, lease_expires_at, last_error_sqlstate, last_error, scene_image_id, created_at, updated_at
FROM scene_images_internal.scene_image_jobs WHERE false;
SELECT project_id, locked_at FROM scene_images_internal.project_queue_locks WHERE false;

ROLLBACK;
