-- Deploy scene-images:functions_scene_image_jobs_worker to pg
-- requires: table_scene_image_jobs
-- requires: role_worker
-- requires: trigger_scene_images_versioning
-- requires: table_settings
-- requires: procedure_revoke_all_grants
-- requires: schema_private

BEGIN;

-- Row-locked so concurrent reports about one job (a worker whose lease expired and the one
-- that took over) are decided one after the other.
CREATE FUNCTION scene_images_internal.lock_job(job_id uuid)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    job scene_images_internal.scene_image_jobs;
BEGIN
    SELECT * INTO job FROM scene_images_internal.scene_image_jobs AS j WHERE j.id = lock_job.job_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'SIJ01', MESSAGE = format('job %s does not exist', job_id);
    END IF;
    RETURN job;
END
$$;

COMMENT ON FUNCTION scene_images_internal.lock_job(uuid) IS 'The job, locked FOR UPDATE until the end of the transaction. Errors: SIJ01.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.lock_job(uuid)'::regprocedure);

CREATE FUNCTION scene_images_private.claim_scene_image_jobs(worker text, max_jobs integer, lease interval)
RETURNS SETOF scene_images_internal.scene_image_jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    lease_for interval := coalesce(lease, make_interval(secs => (
        SELECT (s.value ->> 'lease_s')::float FROM scene_images_internal.settings AS s WHERE s.name = 'queue')));
BEGIN
    IF worker IS NULL OR max_jobs IS NULL OR max_jobs < 1 OR lease_for <= interval '0' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'worker must be given, max_jobs at least 1 and lease positive';
    END IF;
    -- SKIP LOCKED: concurrent workers take disjoint jobs without waiting on each other.
    -- A running job whose lease expired lost its worker: claim it again, or fail it when it
    -- has no attempts left.
    RETURN QUERY
    WITH candidates AS (
        SELECT j.id FROM scene_images_internal.scene_image_jobs AS j
        WHERE (j.status = 'queued' AND j.available_at <= now())
           OR (j.status = 'running' AND j.lease_expires_at <= now())
        ORDER BY j.available_at
        LIMIT max_jobs
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE scene_images_internal.scene_image_jobs AS j
        SET status = CASE WHEN j.status = 'running' AND j.attempts >= j.max_attempts THEN 'failed' ELSE 'running' END,
            attempts = CASE WHEN j.status = 'running' AND j.attempts >= j.max_attempts THEN j.attempts ELSE j.attempts + 1 END,
            lease_expires_at = CASE WHEN j.status = 'running' AND j.attempts >= j.max_attempts THEN NULL ELSE now() + lease_for END,
            locked_by = claim_scene_image_jobs.worker,
            last_error_sqlstate = CASE WHEN j.status = 'running' AND j.attempts >= j.max_attempts THEN 'SIJ03' ELSE j.last_error_sqlstate END,
            last_error = CASE WHEN j.status = 'running' AND j.attempts >= j.max_attempts
                              THEN format('the worker %s holding the last attempt stopped without an answer', j.locked_by)
                              ELSE j.last_error END,
            updated_at = now()
        FROM candidates AS c
        WHERE j.id = c.id
        RETURNING j.*
    )
    SELECT * FROM claimed WHERE claimed.status = 'running';
END
$$;

COMMENT ON FUNCTION scene_images_private.claim_scene_image_jobs(text, integer, interval) IS
    'The definer side of public.claim_scene_image_jobs.';

CREATE FUNCTION public.claim_scene_image_jobs(
    worker text,                 -- a name for the claiming worker (host:pid), kept in locked_by
    max_jobs integer DEFAULT 10, -- how many jobs at most
    lease interval DEFAULT NULL  -- how long the claim holds before others may take the job (default: queue lease_s)
)
RETURNS SETOF scene_images_internal.scene_image_jobs
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.claim_scene_image_jobs(worker, max_jobs, lease)
$$;

CREATE FUNCTION scene_images_private.complete_scene_image_job(job_id uuid, worker text, storage_path text, storage_url text, file_size bigint, content_type text, sha256 text, width integer, height integer, source jsonb)
RETURNS public.scene_images
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    job scene_images_internal.scene_image_jobs;
    stored public.scene_images;
BEGIN
    job := scene_images_internal.lock_job(job_id);
    IF job.status = 'stored' THEN
        -- Completed before (by this or a worker that took over the lease): the same row again.
        SELECT * INTO stored FROM public.scene_images AS si WHERE si.id = job.scene_image_id;
        RETURN stored;
    END IF;

    PERFORM scene_images_internal.lock_scene(job.project_id, job.scene_id);
    SELECT * INTO stored FROM public.scene_images AS si
    WHERE si.project_id = job.project_id AND si.scene_id = job.scene_id AND si.is_current
      AND si.sha256 = complete_scene_image_job.sha256;
    IF NOT FOUND THEN
        INSERT INTO public.scene_images (project_id, scene_id, storage_path, storage_url, file_size, content_type, provider,
                                         generation_prompt, original_fal_url, fal_metadata, sha256, width, height)
        VALUES (job.project_id, job.scene_id, complete_scene_image_job.storage_path, complete_scene_image_job.storage_url,
                complete_scene_image_job.file_size, complete_scene_image_job.content_type, job.provider, job.prompt,
                regexp_replace(job.source_url, '^([A-Za-z]+://)[^/?#]*@', '\1'),
                job.metadata || jsonb_build_object('source', coalesce(source, '{}'), 'job_id', job.id),
                complete_scene_image_job.sha256, complete_scene_image_job.width, complete_scene_image_job.height)
        RETURNING * INTO stored;
    END IF;

    UPDATE scene_images_internal.scene_image_jobs AS j
    SET status = 'stored', scene_image_id = stored.id, lease_expires_at = NULL, locked_by = complete_scene_image_job.worker,
        updated_at = now()
    WHERE j.id = job_id;
    RETURN stored;
END
$$;

COMMENT ON FUNCTION scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb) IS
    'The definer side of public.complete_scene_image_job.';

CREATE FUNCTION public.complete_scene_image_job(
    job_id uuid,         -- the claimed job
    worker text,         -- the worker completing it
    storage_path text,   -- where the worker put the object
    storage_url text,    -- its permanent URL
    file_size bigint,    -- bytes stored
    content_type text,   -- sniffed MIME type
    sha256 text,         -- hex SHA-256 of the bytes
    width integer,       -- pixels
    height integer,      -- pixels
    source jsonb DEFAULT '{}' -- what the source's response told (status, content type, redirects)
)
RETURNS public.scene_images
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.complete_scene_image_job(job_id, worker, storage_path, storage_url, file_size, content_type, sha256, width, height, source)
$$;

CREATE FUNCTION scene_images_internal.is_permanent_error(sqlstate text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    -- Retrying cannot help: the URL, the host, the address or the bytes are wrong, or the caller may not.
    SELECT sqlstate IN ('SIU01', 'SIU02', 'SIU03', 'SIU04', 'SIF02', 'SII01', 'SII02', '22004', '22023', '42501', 'SIP01')
$$;

CREATE FUNCTION scene_images_private.fail_scene_image_job(job_id uuid, worker text, sqlstate text, message text)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    job scene_images_internal.scene_image_jobs;
    queue jsonb := (SELECT s.value FROM scene_images_internal.settings AS s WHERE s.name = 'queue');
    backoff_s float;
BEGIN
    job := scene_images_internal.lock_job(job_id);
    IF job.status <> 'running' OR job.locked_by IS DISTINCT FROM fail_scene_image_job.worker THEN
        -- A stale report: this worker's lease expired and the job was stored, failed, or passed
        -- to another worker since. Only the lease holder's outcome counts.
        RETURN job;
    END IF;
    -- Exponential backoff with jitter, so a burst of failures does not come back as a burst.
    backoff_s := least((queue ->> 'retry_max_s')::float,
                       (queue ->> 'retry_base_s')::float * 2 ^ greatest(job.attempts - 1, 0)) * (0.5 + random() / 2);
    UPDATE scene_images_internal.scene_image_jobs AS j
    SET status = CASE WHEN scene_images_internal.is_permanent_error(fail_scene_image_job.sqlstate)
                        OR j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,
        available_at = now() + make_interval(secs => backoff_s),
        lease_expires_at = NULL,
        locked_by = fail_scene_image_job.worker,
        last_error_sqlstate = left(fail_scene_image_job.sqlstate, 5),
        last_error = left(fail_scene_image_job.message, 2000),
        updated_at = now()
    WHERE j.id = job_id
    RETURNING * INTO job;
    RETURN job;
END
$$;

COMMENT ON FUNCTION scene_images_private.fail_scene_image_job(uuid, text, text, text) IS
    'The definer side of public.fail_scene_image_job.';

CREATE FUNCTION public.fail_scene_image_job(
    job_id uuid,     -- the claimed job
    worker text,     -- the worker reporting
    sqlstate text,   -- the error's SQLSTATE (README error table)
    message text     -- the error's message (no secrets)
)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.fail_scene_image_job(job_id, worker, sqlstate, message)
$$;

CREATE FUNCTION scene_images_private.get_scene_image_worker_settings()
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT jsonb_object_agg(s.name, s.value) FROM scene_images_internal.settings AS s
$$;

COMMENT ON FUNCTION scene_images_private.get_scene_image_worker_settings() IS
    'The definer side of public.get_scene_image_worker_settings: the settings, secrets included, for workers only.';

CREATE FUNCTION public.get_scene_image_worker_settings()
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT scene_images_private.get_scene_image_worker_settings()
$$;

CREATE FUNCTION scene_images_private.get_scene_image_queue_counts()
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT jsonb_build_object(
        'queued', count(*) FILTER (WHERE j.status = 'queued'),
        'running', count(*) FILTER (WHERE j.status = 'running'),
        'stored', count(*) FILTER (WHERE j.status = 'stored'),
        'failed', count(*) FILTER (WHERE j.status = 'failed'),
        -- CASE, not greatest() alone: greatest(0, NULL) is 0, and "none queued" must read NULL.
        'next_available_in_s', CASE WHEN count(*) FILTER (WHERE j.status = 'queued') > 0
            THEN greatest(0, extract(epoch FROM min(j.available_at) FILTER (WHERE j.status = 'queued') - now())) END)
    FROM scene_images_internal.scene_image_jobs AS j
$$;

COMMENT ON FUNCTION scene_images_private.get_scene_image_queue_counts() IS
    'The definer side of public.get_scene_image_queue_counts.';

CREATE FUNCTION public.get_scene_image_queue_counts()
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT scene_images_private.get_scene_image_queue_counts()
$$;

COMMENT ON FUNCTION public.get_scene_image_queue_counts() IS
    'Jobs per status, and seconds until the next queued job is due (NULL when none): for monitoring and draining workers. Errors: none.';

COMMENT ON FUNCTION public.claim_scene_image_jobs(text, integer, interval) IS
    'Worker only. Lease up to max_jobs ready jobs (queued and due, or running with an expired lease) with FOR UPDATE SKIP LOCKED; '
    'attempts is counted here. A job whose lease expired on its last attempt is failed (SIJ03) instead. Errors: 22023 bad arguments.';
COMMENT ON FUNCTION public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb) IS
    'Worker only. Record the object a worker stored for a job: inserts the scene_images row (versioning and masterJSON sync apply) '
    'unless the scene''s current image has the same sha256; harmless when called twice (returns the same row). '
    'A worker whose object did not become the row deletes it. Errors: SIJ01 no such job; 23514 malformed facts.';
COMMENT ON FUNCTION scene_images_internal.is_permanent_error(text) IS 'True for SQLSTATEs that retrying cannot fix.';
COMMENT ON FUNCTION public.fail_scene_image_job(uuid, text, text, text) IS
    'Worker only. Report a failed attempt: queued again after exponential backoff with jitter, or failed when the error is '
    'permanent (bad URL, host, address, size, not an image) or max_attempts is reached. A report from a worker that no '
    'longer holds the running job (its lease expired) changes nothing. Result: the job. Errors: SIJ01 no such job.';
COMMENT ON FUNCTION public.get_scene_image_worker_settings() IS
    'Worker only. The fetch policy, storage backend (with its secrets) and queue policy an external worker needs.';

CALL scene_images_internal.revoke_all_grants('scene_images_private.claim_scene_image_jobs(text, integer, interval)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.claim_scene_image_jobs(text, integer, interval)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.is_permanent_error(text)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.fail_scene_image_job(uuid, text, text, text)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.fail_scene_image_job(uuid, text, text, text)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.get_scene_image_worker_settings()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.get_scene_image_worker_settings()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.get_scene_image_queue_counts()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.get_scene_image_queue_counts()'::regprocedure);
GRANT EXECUTE ON FUNCTION scene_images_private.get_scene_image_queue_counts() TO scene_images_worker, service_role;
GRANT EXECUTE ON FUNCTION public.get_scene_image_queue_counts() TO scene_images_worker, service_role;
GRANT EXECUTE ON FUNCTION scene_images_private.claim_scene_image_jobs(text, integer, interval) TO scene_images_worker;
GRANT EXECUTE ON FUNCTION public.claim_scene_image_jobs(text, integer, interval) TO scene_images_worker;
GRANT EXECUTE ON FUNCTION scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb) TO scene_images_worker;
GRANT EXECUTE ON FUNCTION public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb) TO scene_images_worker;
GRANT EXECUTE ON FUNCTION scene_images_private.fail_scene_image_job(uuid, text, text, text) TO scene_images_worker;
GRANT EXECUTE ON FUNCTION public.fail_scene_image_job(uuid, text, text, text) TO scene_images_worker;
GRANT EXECUTE ON FUNCTION scene_images_private.get_scene_image_worker_settings() TO scene_images_worker;
GRANT EXECUTE ON FUNCTION public.get_scene_image_worker_settings() TO scene_images_worker;

COMMIT;
