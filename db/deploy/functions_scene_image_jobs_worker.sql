-- Deploy scene-images:functions_scene_image_jobs_worker to pg
-- requires: function_record_scene_images
-- requires: functions_scene_image_rules
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

-- Whether the caller holds the job: running, the lease live, claimed by this worker name from
-- this login. Otherwise SIJ04, saying why without naming whoever holds it now.
CREATE FUNCTION scene_images_internal.assert_job_held(job scene_images_internal.scene_image_jobs, worker text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    reason text;
BEGIN
    reason := CASE
        WHEN job.status = 'queued' AND job.locked_by IS NULL THEN 'it was never claimed'
        WHEN job.status = 'queued' THEN 'it is queued, claimed by nobody'
        WHEN job.status IN ('stored', 'failed') THEN format('it is %s already', job.status)
        WHEN job.locked_by IS DISTINCT FROM assert_job_held.worker
          OR job.locked_by_login IS DISTINCT FROM session_user::text THEN 'another worker or login holds its claim'
        WHEN NOT job.lease_expires_at > now() THEN format('the lease ran out at %s', job.lease_expires_at)
    END;
    IF reason IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'SIJ04',
            MESSAGE = format('job %s is not held by worker %s and login %s with a live lease: %s',
                             job.id, coalesce(worker, 'NULL'), session_user, reason),
            HINT = 'Only the claim''s holder reports on a job while its lease lasts; a late report is stale '
                   '(delete the object it stored) and the job is run again or was already.';
    END IF;
END
$$;

COMMENT ON FUNCTION scene_images_internal.assert_job_held(scene_images_internal.scene_image_jobs, text) IS
    'Raise SIJ04 unless the job is running with a live lease held by this worker name and session_user. Errors: SIJ04.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.assert_job_held(scene_images_internal.scene_image_jobs, text)'::regprocedure);

-- urllib.parse.quote(value) (safe '/'), which the Python backends apply to paths and buckets.
CREATE FUNCTION scene_images_internal.url_quote(value text)
RETURNS text
LANGUAGE sql
IMMUTABLE
STRICT
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT coalesce(string_agg(CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122
                                         OR b IN (45, 46, 47, 95, 126)  -- - . / _ ~
                                    THEN chr(b) ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END, '' ORDER BY i), '')
    FROM (SELECT convert_to(value, 'UTF8') AS raw) AS r,
         generate_series(0, length(r.raw) - 1) AS i,
         LATERAL get_byte(r.raw, i) AS b
$$;

COMMENT ON FUNCTION scene_images_internal.url_quote(text) IS
    'Percent-encode as Python''s urllib.parse.quote does with its default safe ''/''.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.url_quote(text)'::regprocedure);

-- The permanent URL the configured backend gives an object path: the rules of
-- py/scene_images_core/backends (values stripped of surrounding whitespace, base URLs of their
-- trailing slashes, path and bucket quoted). py/tests/test_security_jobs.py compares the two.
CREATE FUNCTION scene_images_internal.storage_object_url(storage_path text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    storage jsonb := (SELECT s.value FROM scene_images_internal.settings AS s WHERE s.name = 'storage');
    backend text := storage ->> 'backend';
    conf jsonb := storage -> 'settings';
    -- What Python's str.strip() removes: every character str.isspace() is true of.
    ws constant text := (SELECT string_agg(chr(c), '') FROM unnest(ARRAY[
        9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200,
        8201, 8202, 8232, 8233, 8239, 8287, 12288]) AS c);
    base text;
BEGIN
    base := CASE backend
        WHEN 'file' THEN rtrim(btrim(conf ->> 'public_base_url', ws), '/')
        WHEN 's3' THEN rtrim(coalesce(btrim(conf ->> 'public_base_url', ws),
                                      rtrim(btrim(conf ->> 'endpoint_url', ws), '/') || '/'
                                      || scene_images_internal.url_quote(btrim(conf ->> 'bucket', ws))), '/')
        WHEN 'supabase' THEN coalesce(rtrim(btrim(conf ->> 'api_url', ws), '/'),
                                      rtrim(btrim(conf ->> 'url', ws), '/') || '/storage/v1')
                             || '/object/public/' || scene_images_internal.url_quote(btrim(conf ->> 'bucket', ws))
    END;
    IF base IS NULL OR base = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'SIS02',
            MESSAGE = format('the configured %s storage backend gives no public URL', coalesce(backend, 'NULL')),
            HINT = 'configure_scene_image_storage sets a backend and its base URL.';
    END IF;
    RETURN base || '/' || scene_images_internal.url_quote(storage_path);
END
$$;

COMMENT ON FUNCTION scene_images_internal.storage_object_url(text) IS
    'The permanent URL the configured backend gives an object path: file {public_base_url}/{path}; '
    's3 {public_base_url or endpoint_url/bucket}/{path}; supabase {url}/storage/v1 (or {api_url})/object/public/{bucket}/{path}. '
    'Errors: SIS02 when the settings give no base URL.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.storage_object_url(text)'::regprocedure);

-- What complete_scene_image_job is told, checked against what this product's own code produces:
-- the sniffer's content types, pipeline.store's path for the job's project and scene, the
-- configured backend's URL for it. A forged report is refused before anything is written.
CREATE FUNCTION scene_images_internal.check_job_completion(
    job scene_images_internal.scene_image_jobs, storage_path text, storage_url text, file_size bigint,
    content_type text, sha256 text, width integer, height integer, source jsonb)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    extension text;
    prefix text;
    stamp text;
    expected_url text;
BEGIN
    IF storage_path IS NULL OR storage_url IS NULL OR file_size IS NULL OR content_type IS NULL OR sha256 IS NULL
       OR width IS NULL OR height IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = format('%s must not be NULL',
            CASE WHEN storage_path IS NULL THEN 'storage_path' WHEN storage_url IS NULL THEN 'storage_url'
                 WHEN file_size IS NULL THEN 'file_size' WHEN content_type IS NULL THEN 'content_type'
                 WHEN sha256 IS NULL THEN 'sha256' WHEN width IS NULL THEN 'width' ELSE 'height' END);
    END IF;
    -- The sniffer's types and the extensions paths.object_path gives them (sniff.py).
    extension := CASE content_type WHEN 'image/jpeg' THEN 'jpg' WHEN 'image/png' THEN 'png' WHEN 'image/gif' THEN 'gif'
                                   WHEN 'image/webp' THEN 'webp' WHEN 'image/avif' THEN 'avif' END;
    IF extension IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('content_type %L is not one the sniffer produces', left(content_type, 100)),
            HINT = 'Stored images are image/jpeg, image/png, image/gif, image/webp or image/avif.';
    END IF;
    IF sha256 !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'sha256 must be 64 lower-case hex digits';
    END IF;
    IF file_size <= 0 OR width <= 0 OR height <= 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'file_size, width and height must be positive';
    END IF;
    IF source IS NOT NULL AND jsonb_typeof(source) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'source must be a JSON object';
    END IF;

    -- projects/{project_id}/scenes/{scene_id}_{UTC %Y%m%dT%H%M%S%fZ}_{sha256[:12]}.{ext} (paths.object_path)
    prefix := format('projects/%s/scenes/%s_', job.project_id, job.scene_id);
    stamp := substr(storage_path, length(prefix) + 1, 22);
    IF left(storage_path, length(prefix)) <> prefix
       OR substr(storage_path, length(prefix) + 1) <> stamp || '_' || left(sha256, 12) || '.' || extension
       OR stamp !~ '^[0-9]{8}T[0-9]{12}Z$' THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('storage_path %L is not a path this store makes for the job''s image', left(storage_path, 300)),
            HINT = format('Expected %s<UTC time YYYYMMDDTHHMMSSffffffZ>_<sha256[:12]>.%s.', prefix, extension);
    END IF;
    BEGIN
        PERFORM to_timestamp(stamp, 'YYYYMMDD"T"HH24MISSUS"Z"');
    EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('storage_path %L does not carry a valid UTC time', left(storage_path, 300));
    END;
    IF EXISTS (SELECT 1 FROM public.scene_images AS si WHERE si.storage_path = check_job_completion.storage_path) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('storage_path %L is already another image''s object', storage_path);
    END IF;

    expected_url := scene_images_internal.storage_object_url(storage_path);
    IF storage_url IS DISTINCT FROM expected_url THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('storage_url %L is not the permanent URL the configured storage gives storage_path',
                             left(storage_url, 300)),
            HINT = format('Expected %s.', expected_url);
    END IF;
END
$$;

COMMENT ON FUNCTION scene_images_internal.check_job_completion(scene_images_internal.scene_image_jobs, text, text, bigint, text, text, integer, integer, jsonb) IS
    'Raise unless a completion''s facts are ones this product produces for the job: a sniffed content type, a 64-hex sha256, '
    'positive sizes, the object path pipeline.store makes for the job''s project and scene (sha256 prefix and extension '
    'matching), not yet any row''s, and the URL the configured backend gives it. Errors: 22004, 22023, SIS02.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.check_job_completion(scene_images_internal.scene_image_jobs, text, text, bigint, text, text, integer, integer, jsonb)'::regprocedure);

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
    -- has no attempts left (keeping the holder that stopped answering on record).
    -- The claim is bound to this worker name and this login (session_user, the same inside
    -- SECURITY DEFINER): only that pair may complete or fail the job while the lease lasts.
    -- A job keeps its URL's secrets while it can still be retried: 24 hours after its final
    -- failure they go. Workers claim all the time, so this is where that happens.
    UPDATE scene_images_internal.scene_image_jobs AS j
    SET source_url = scene_images_internal.redact_url(j.source_url), secrets_discarded_at = now()
    WHERE j.status = 'failed' AND j.secrets_discarded_at IS NULL AND j.updated_at < now() - interval '24 hours';

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
            locked_by = CASE WHEN j.status = 'running' AND j.attempts >= j.max_attempts THEN j.locked_by
                             ELSE claim_scene_image_jobs.worker END,
            locked_by_login = CASE WHEN j.status = 'running' AND j.attempts >= j.max_attempts THEN j.locked_by_login
                                   ELSE session_user::text END,
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
    IF job.status = 'stored' AND job.locked_by = complete_scene_image_job.worker
       AND job.locked_by_login = session_user::text THEN
        -- This holder completed it before (its answer was lost, say): the same row again.
        SELECT * INTO stored FROM public.scene_images AS si WHERE si.id = job.scene_image_id;
        IF FOUND THEN
            RETURN stored;
        END IF;
    END IF;
    PERFORM scene_images_internal.assert_job_held(job, worker);
    PERFORM scene_images_internal.check_job_completion(job, storage_path, storage_url, file_size, content_type,
                                                       sha256, width, height, source);

    SELECT * INTO stored FROM scene_images_internal.record_scene_images(job.project_id, jsonb_build_array(jsonb_build_object(
        'scene_id', job.scene_id, 'storage_path', storage_path, 'storage_url', storage_url, 'file_size', file_size,
        'content_type', content_type, 'sha256', sha256, 'width', width, 'height', height, 'provider', job.provider,
        'prompt', job.prompt, 'source_url', job.source_url, 'metadata', job.metadata, 'source', source, 'job_id', job.id)));

    -- Stored: the job needs its URL's secrets no longer.
    UPDATE scene_images_internal.scene_image_jobs AS j
    SET status = 'stored', scene_image_id = stored.id, lease_expires_at = NULL, updated_at = now(),
        source_url = scene_images_internal.redact_url(j.source_url), secrets_discarded_at = now()
    WHERE j.id = job_id;
    RETURN stored;
END
$$;

COMMENT ON FUNCTION scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb) IS
    'The definer side of public.complete_scene_image_job.';

CREATE FUNCTION public.complete_scene_image_job(
    job_id uuid,         -- the claimed job
    worker text,         -- the worker completing it (the name it claimed with)
    storage_path text,   -- where the worker put the object (the path pipeline.store makes)
    storage_url text,    -- its permanent URL (what the configured backend gives that path)
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
    -- A stale report (this worker's lease expired and the job was stored, failed, or passed to
    -- another worker since) or one from anybody but the holder is refused: SIJ04.
    PERFORM scene_images_internal.assert_job_held(job, worker);
    -- Exponential backoff with jitter, so a burst of failures does not come back as a burst.
    backoff_s := least((queue ->> 'retry_max_s')::float,
                       (queue ->> 'retry_base_s')::float * 2 ^ greatest(job.attempts - 1, 0)) * (0.5 + random() / 2);
    UPDATE scene_images_internal.scene_image_jobs AS j
    SET status = CASE WHEN fail_scene_image_job.sqlstate = ANY (scene_images_internal.permanent_error_sqlstates())
                        OR j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,
        available_at = now() + make_interval(secs => backoff_s),
        lease_expires_at = NULL,
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
    worker text,     -- the worker reporting (the name it claimed with)
    sqlstate text,   -- the error's SQLSTATE (README error table)
    message text     -- the error's message (no secrets)
)
RETURNS scene_images_internal.scene_image_jobs
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT * FROM scene_images_private.fail_scene_image_job(job_id, worker, sqlstate, message)
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
    'attempts is counted here. The claim records the worker name (locked_by) and the login (session_user, locked_by_login): '
    'only that pair may complete or fail the job while the lease lasts. A job whose lease expired on its last attempt is '
    'failed (SIJ03) instead. Errors: 22023 bad arguments.';
COMMENT ON FUNCTION public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb) IS
    'Worker only. Record the object a worker stored for a job it holds: inserts the scene_images row (versioning and masterJSON '
    'sync apply) unless the scene''s current image has the same sha256. The facts must be ones this product produces: '
    'storage_path projects/<project_id>/scenes/<scene_id>_<UTC time>_<sha256[:12]>.<ext> for the job''s project and scene, '
    'not yet any row''s; storage_url the URL the configured backend gives it; content_type image/jpeg, image/png, image/gif, '
    'image/webp or image/avif (ext jpg, png, gif, webp, avif); sha256 64 lower-case hex; sizes positive. Harmless when the '
    'holder calls it twice (returns the same row). A worker whose object did not become the row deletes it. '
    'Errors: SIJ01 no such job; SIJ04 the job is not running under a live lease held by this worker and login '
    '(never claimed, queued again, stored, failed, another holder, lease expired); 22004 a NULL fact; 22023 a malformed fact; '
    'SIS02 the storage settings give no URL. A refusal changes nothing.';
COMMENT ON FUNCTION public.fail_scene_image_job(uuid, text, text, text) IS
    'Worker only. Report a failed attempt of a job this worker and login hold: queued again after exponential backoff with '
    'jitter, or failed when the error is permanent (bad URL, host, address, size, not an image) or max_attempts is reached. '
    'Result: the job. Errors: SIJ01 no such job; SIJ04 the job is not running under a live lease held by this worker and '
    'login (a stale report: it changes nothing).';

CALL scene_images_internal.revoke_all_grants('scene_images_private.claim_scene_image_jobs(text, integer, interval)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.claim_scene_image_jobs(text, integer, interval)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_private.fail_scene_image_job(uuid, text, text, text)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.fail_scene_image_job(uuid, text, text, text)'::regprocedure);
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

COMMIT;
