-- Deploy scene-images:function_process_scene_image_jobs to pg
-- requires: extension_plpython3u
-- requires: functions_scene_image_jobs_worker
-- requires: procedure_revoke_all_grants
-- requires: function_get_scene_image_worker_settings
-- requires: schema_private

BEGIN;

-- Only where PL/Python is installed (extension_plpython3u); elsewhere this change installs nothing.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'plpython3u') AS with_plpython \gset
\if :with_plpython
-- The PL/Python work answers with its refusal and the definer side raises it, as in
-- function_store_scene_image (why: py/scene_images_plpy/errors.py).
CREATE FUNCTION scene_images_internal.try_process_scene_image_jobs(
    max_jobs integer,                                   -- as public.process_scene_image_jobs's
    OUT jobs scene_images_internal.scene_image_jobs[],  -- the jobs as they ended; NULL when refused
    OUT sqlstate text,                                  -- NULL unless refused; else the error the caller must raise, with:
    OUT message text,                                   -- its message
    OUT detail text,                                    -- its DETAIL, or NULL
    OUT hint text                                       -- its HINT, or NULL
)
LANGUAGE plpython3u
SET search_path = pg_catalog, scene_images_internal, pg_temp
-- Full error texts go to the server log (plpy.log); a caller who lowered client_min_messages
-- to LOG would otherwise receive them too.
SET client_min_messages = notice
AS $$
from scene_images_plpy import jobs
return jobs.process(plpy, SD, max_jobs)
$$;

COMMENT ON FUNCTION scene_images_internal.try_process_scene_image_jobs(integer) IS
    'The PL/Python side of process_scene_image_jobs: claims and runs queued jobs; answers with the jobs as they ended, or '
    'with the refusal (sqlstate, message, detail, hint) its caller must raise at once, which rolls back what it wrote '
    '(its objects are already deleted). Owner only.';

CREATE FUNCTION scene_images_private.process_scene_image_jobs(max_jobs integer)
RETURNS SETOF scene_images_internal.scene_image_jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    tried record;
BEGIN
    tried := scene_images_internal.try_process_scene_image_jobs(max_jobs);
    IF tried.sqlstate IS NULL THEN
        RETURN QUERY SELECT * FROM pg_catalog.unnest(tried.jobs);
    ELSIF tried.detail IS NULL AND tried.hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = tried.sqlstate, MESSAGE = tried.message;
    ELSIF tried.hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = tried.sqlstate, MESSAGE = tried.message, DETAIL = tried.detail;
    ELSIF tried.detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = tried.sqlstate, MESSAGE = tried.message, HINT = tried.hint;
    ELSE
        RAISE EXCEPTION USING ERRCODE = tried.sqlstate, MESSAGE = tried.message, DETAIL = tried.detail, HINT = tried.hint;
    END IF;
END
$$;

COMMENT ON FUNCTION scene_images_private.process_scene_image_jobs(integer) IS
    'The definer side of public.process_scene_image_jobs: runs try_process_scene_image_jobs with the storage settings '
    '(claims and runs queued jobs) and raises its refusal.';

CREATE FUNCTION public.process_scene_image_jobs(
    max_jobs integer DEFAULT 10 -- how many jobs to claim and run in this call
)
RETURNS SETOF scene_images_internal.scene_image_jobs
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.process_scene_image_jobs(max_jobs)
$$;

COMMENT ON FUNCTION public.process_scene_image_jobs(integer) IS
    'The in-database worker: claim up to max_jobs jobs and run them concurrently with the same code as store_scene_image, '
    'then complete or fail each. Schedulable with pg_cron: SELECT cron.schedule(''scene-image-jobs'', ''* * * * *'', '
    '''SELECT count(*) FROM process_scene_image_jobs(20)''). A call that fails or is cancelled (pg_cancel_backend, '
    'statement_timeout) deletes every object it uploaded, since its rows roll back with it; a terminated backend leaves '
    'orphans for sweep_orphaned_scene_objects. Result: the jobs as they ended. Errors: 22023 bad max_jobs; 57014 cancelled.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.try_process_scene_image_jobs(integer)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.process_scene_image_jobs(integer)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.process_scene_image_jobs(integer)'::regprocedure);
GRANT EXECUTE ON FUNCTION scene_images_private.process_scene_image_jobs(integer) TO scene_images_worker;
GRANT EXECUTE ON FUNCTION public.process_scene_image_jobs(integer) TO scene_images_worker;
\endif

COMMIT;
