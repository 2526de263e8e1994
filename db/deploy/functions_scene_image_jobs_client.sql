-- Deploy scene-images:functions_scene_image_jobs_client to pg
-- requires: table_scene_image_jobs
-- requires: function_checked_scene_image_requests
-- requires: table_settings
-- requires: procedure_revoke_all_grants
-- requires: schema_private

BEGIN;

-- The pending-jobs cap: queued + running jobs of a project, plus those about to be queued, stay
-- within limits.pending_jobs_per_project. Counted under the project's row lock in
-- project_queue_locks (held to commit), so concurrent enqueues of one project count in turn;
-- an UPDATE, so a REPEATABLE READ enqueue that raced another fails with 40001 instead of
-- counting from an old snapshot.
CREATE FUNCTION scene_images_internal.reserve_pending_jobs(
    project_id uuid, -- the project (access already checked)
    adding integer   -- how many jobs are about to become queued
)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    allowed bigint;
    pending bigint;
BEGIN
    INSERT INTO scene_images_internal.project_queue_locks AS l (project_id)
    VALUES (reserve_pending_jobs.project_id)
    ON CONFLICT ON CONSTRAINT project_queue_locks_pkey DO UPDATE SET locked_at = now();
    -- A statement of its own, after the lock: its snapshot sees every earlier enqueuer's commit.
    SELECT (s.value ->> 'pending_jobs_per_project')::bigint INTO allowed
    FROM scene_images_internal.settings AS s WHERE s.name = 'limits';
    SELECT count(*) INTO pending FROM scene_images_internal.scene_image_jobs AS j
    WHERE j.project_id = reserve_pending_jobs.project_id AND j.status IN ('queued', 'running');
    IF pending + adding > allowed THEN
        RAISE EXCEPTION USING ERRCODE = 'program_limit_exceeded',
            MESSAGE = format('the project has %s queued or running jobs; %s more would pass pending_jobs_per_project, which allows %s',
                             pending, adding, allowed),
            HINT = 'Wait for workers to store the queued images, or ask the owner to raise the limit.';
    END IF;
END
$$;

COMMENT ON FUNCTION scene_images_internal.reserve_pending_jobs(uuid, integer) IS
    'Lock the project''s queue row until commit and raise 54000 unless `adding` more pending jobs fit pending_jobs_per_project.';

-- checked_scene_image_requests for the queue: the same rows, once the cap has room for them all.
CREATE FUNCTION scene_images_internal.queueable_scene_image_requests(
    project_id uuid, -- the project every item writes to
    requests jsonb   -- as checked_scene_image_requests takes them
)
RETURNS TABLE (ordinal integer, scene_id text, source_url text, prompt text, provider text, metadata jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    added integer;
BEGIN
    -- Validated (and access checked) first, so the lock is only taken for the caller's own project.
    RETURN QUERY SELECT * FROM scene_images_internal.checked_scene_image_requests(
        queueable_scene_image_requests.project_id, requests);
    GET DIAGNOSTICS added = ROW_COUNT;
    PERFORM scene_images_internal.reserve_pending_jobs(queueable_scene_image_requests.project_id, added);
END
$$;

COMMENT ON FUNCTION scene_images_internal.queueable_scene_image_requests(uuid, jsonb) IS
    'The rows of checked_scene_image_requests, raising 54000 instead when they would pass pending_jobs_per_project.';

CREATE FUNCTION scene_images_private.enqueue_scene_images(project_id uuid, requests jsonb)
RETURNS SETOF scene_images_internal.scene_image_jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
BEGIN
    RETURN QUERY
    INSERT INTO scene_images_internal.scene_image_jobs
        (project_id, scene_id, source_url, prompt, provider, metadata, max_attempts)
    SELECT enqueue_scene_images.project_id, r.scene_id, r.source_url, r.prompt, r.provider, r.metadata,
           (SELECT (s.value ->> 'max_attempts')::int FROM scene_images_internal.settings AS s WHERE s.name = 'queue')
    FROM scene_images_internal.queueable_scene_image_requests(enqueue_scene_images.project_id, requests) AS r
    ORDER BY r.ordinal
    RETURNING *;
    -- Workers LISTEN here instead of polling; delivered at commit. The payload is empty: any
    -- login may LISTEN, and workers learn what to do from the queue, not from the notification.
    PERFORM pg_notify('scene_image_jobs', '');
END
$$;

COMMENT ON FUNCTION scene_images_private.enqueue_scene_images(uuid, jsonb) IS
    'The definer side of public.enqueue_scene_images: checks the caller owns the project and queues one job per request.';

CREATE FUNCTION public.enqueue_scene_images(
    project_id uuid, -- the project (the caller must own it)
    requests jsonb   -- array of {scene_id, source_url, prompt?, provider?, metadata?}, at most 200, scene_ids distinct
)
RETURNS SETOF scene_images_internal.scene_image_jobs
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.enqueue_scene_images(project_id, requests)
$$;

CREATE FUNCTION scene_images_private.enqueue_scene_image(project_id uuid, scene_id text, source_url text, prompt text, provider text, metadata jsonb)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    -- Checked here first, as store_scene_image checks: a NULL argument is 22004 and messages
    -- name no requests[0], which the JSON array below would otherwise turn them into.
    SELECT scene_images_internal.check_scene_image_request(project_id, scene_id, source_url, prompt, provider, metadata);
    SELECT * FROM scene_images_private.enqueue_scene_images(
        project_id,
        jsonb_build_array(jsonb_build_object('scene_id', scene_id, 'source_url', source_url, 'prompt', prompt,
                                             'provider', provider, 'metadata', metadata)))
$$;

COMMENT ON FUNCTION scene_images_private.enqueue_scene_image(uuid, text, text, text, text, jsonb) IS
    'The definer side of public.enqueue_scene_image.';

CREATE FUNCTION public.enqueue_scene_image(
    project_id uuid,                     -- the project (the caller must own it)
    scene_id text,                       -- the scene's key in masterJSON
    source_url text,                     -- the generator's temporary URL
    prompt text DEFAULT NULL,            -- the prompt the image was generated from
    provider text DEFAULT 'fal_ai_flux', -- the generator's name
    metadata jsonb DEFAULT '{}'          -- anything else worth keeping (a JSON object)
)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.enqueue_scene_image(project_id, scene_id, source_url, prompt, provider, metadata)
$$;

CREATE FUNCTION scene_images_private.get_scene_image_job(job_id uuid)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    job scene_images_internal.scene_image_jobs;
BEGIN
    SELECT * INTO job FROM scene_images_internal.scene_image_jobs AS j WHERE j.id = job_id;
    IF FOUND THEN
        BEGIN
            PERFORM scene_images_internal.assert_project_access(job.project_id);
            RETURN job;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL; -- answered like a missing job: a client learns nothing about others' jobs
        END;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'SIJ01', MESSAGE = format('job %s does not exist or does not belong to the caller', job_id);
END
$$;

COMMENT ON FUNCTION scene_images_private.get_scene_image_job(uuid) IS
    'The definer side of public.get_scene_image_job: the job when the caller owns its project.';

CREATE FUNCTION public.get_scene_image_job(
    job_id uuid -- the job
)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE sql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.get_scene_image_job(job_id)
$$;

CREATE FUNCTION scene_images_private.retry_scene_image_job(job_id uuid)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    job scene_images_internal.scene_image_jobs;
BEGIN
    job := scene_images_private.get_scene_image_job(job_id);
    IF job.status <> 'failed' THEN
        RAISE EXCEPTION USING ERRCODE = 'SIJ02', MESSAGE = format('job %s is %s; only failed jobs can be retried', job_id, job.status);
    END IF;
    IF job.secrets_discarded_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SIJ02',
            MESSAGE = format('job %s failed more than 24 hours ago and its source URL''s secrets were discarded', job_id),
            HINT = 'Enqueue the image again with a fresh URL from the generator.';
    END IF;
    PERFORM scene_images_internal.reserve_pending_jobs(job.project_id, 1);
    UPDATE scene_images_internal.scene_image_jobs AS j
    SET status = 'queued', attempts = 0, available_at = now(), updated_at = now()
    WHERE j.id = job_id
    RETURNING * INTO job;
    PERFORM pg_notify('scene_image_jobs', '');  -- no project id: any login may LISTEN
    RETURN job;
END
$$;

COMMENT ON FUNCTION scene_images_private.retry_scene_image_job(uuid) IS
    'The definer side of public.retry_scene_image_job.';

CREATE FUNCTION public.retry_scene_image_job(
    job_id uuid -- a failed job
)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.retry_scene_image_job(job_id)
$$;

COMMENT ON FUNCTION public.enqueue_scene_image(uuid, text, text, text, text, jsonb) IS
    'Queue one image for a worker to store; returns at once (the job row). Same checks and ownership rules as '
    'store_scene_image; NOTIFY scene_image_jobs at commit. Errors: 22004, 22023, SIP01, 42501, SIU01 (see store_scene_image); '
    '54000 prompt or metadata over its limit, or the project''s queued and running jobs at pending_jobs_per_project.';
COMMENT ON FUNCTION public.enqueue_scene_images(uuid, jsonb) IS
    'Queue many images at once (one job each, in request order); returns the jobs. Errors: those of store_scene_images'' argument checks; '
    '54000 when the new jobs would take the project''s queued and running jobs past pending_jobs_per_project (none is queued).';
COMMENT ON FUNCTION public.get_scene_image_job(uuid) IS
    'The status of a job: queued, running, stored (scene_image_id set) or failed (last_error_sqlstate, last_error). '
    'Errors: SIJ01 when the job does not exist or is not the caller''s (one answer for both).';
COMMENT ON FUNCTION public.retry_scene_image_job(uuid) IS
    'Queue a failed job again with fresh attempts. Errors: SIJ01 no such job (or not the caller''s); SIJ02 the job has not failed; '
    '54000 the project''s queued and running jobs are at pending_jobs_per_project.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.reserve_pending_jobs(uuid, integer)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.queueable_scene_image_requests(uuid, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.enqueue_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.enqueue_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.enqueue_scene_images(uuid, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.enqueue_scene_images(uuid, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.get_scene_image_job(uuid)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.get_scene_image_job(uuid)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.retry_scene_image_job(uuid)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.retry_scene_image_job(uuid)'::regprocedure);
GRANT EXECUTE ON FUNCTION scene_images_private.enqueue_scene_image(uuid, text, text, text, text, jsonb) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.enqueue_scene_image(uuid, text, text, text, text, jsonb) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION scene_images_private.enqueue_scene_images(uuid, jsonb) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.enqueue_scene_images(uuid, jsonb) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION scene_images_private.get_scene_image_job(uuid) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.get_scene_image_job(uuid) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION scene_images_private.retry_scene_image_job(uuid) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.retry_scene_image_job(uuid) TO authenticated, service_role;

COMMIT;
