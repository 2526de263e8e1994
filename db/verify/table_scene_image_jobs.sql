-- Verify scene-images:table_scene_image_jobs on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- The columns (raises when one is missing), the named checks and the indexes the queue scans.
SELECT id, project_id, scene_id, source_url, prompt, provider, metadata, status, attempts, max_attempts, available_at,
       locked_by, locked_by_login, lease_expires_at, last_error_sqlstate, last_error, secrets_discarded_at, scene_image_id,
       created_at, updated_at
FROM scene_images_internal.scene_image_jobs WHERE false;
SELECT 1 / (count(*) = 4)::int FROM pg_catalog.pg_constraint
WHERE conrelid = 'scene_images_internal.scene_image_jobs'::regclass
  AND conname IN ('scene_image_jobs_status_known', 'scene_image_jobs_attempts_nonnegative',
                  'scene_image_jobs_max_attempts_positive', 'scene_image_jobs_lease_while_running');
SELECT 'scene_images_internal.scene_image_jobs_queued_idx'::regclass,
       'scene_images_internal.scene_image_jobs_running_idx'::regclass,
       'scene_images_internal.scene_image_jobs_project_idx'::regclass,
       'scene_images_internal.scene_image_jobs_scene_image_idx'::regclass,
       'scene_images_internal.scene_image_jobs_failed_secrets_idx'::regclass;
SELECT project_id, locked_at FROM scene_images_internal.project_queue_locks WHERE false;

-- Privileges exactly as the README's access table says, both ways (a grant on any column counts;
-- scene_images_internal.verify_relations raises naming every difference).
CALL scene_images_internal.verify_relations('{"scene_images_internal.scene_image_jobs": {}, "scene_images_internal.project_queue_locks": {}}');

ROLLBACK;
