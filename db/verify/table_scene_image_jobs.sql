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

-- No role but the owner holds any privilege on it (a grant on any column counts); raises naming
-- every one.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s holds %s on %s', r.role, p.privilege, t.relation), '; ')
    INTO wrong
    FROM pg_catalog.unnest('{scene_images_internal.scene_image_jobs,scene_images_internal.project_queue_locks}'::text[]) AS t (relation)
    CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r (role)
    CROSS JOIN pg_catalog.unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS p (privilege)
    CROSS JOIN LATERAL (SELECT CASE WHEN p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                                    THEN pg_catalog.has_any_column_privilege(r.role, t.relation, p.privilege)
                                    ELSE pg_catalog.has_table_privilege(r.role, t.relation, p.privilege) END) AS h (held)
    WHERE h.held;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'grants differ from the access table: %', wrong;
    END IF;
END
$$;

ROLLBACK;
