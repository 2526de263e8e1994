-- The job queue's SQL contract: signatures and grants, enqueue checks, and the state changes of
-- claim / complete / fail / retry, including leases that run out.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
-- Known policies, for this transaction only: private networks refused; three attempts; a backoff
-- long enough that a failed attempt's available_at is measurably in the future.
DO $$ BEGIN PERFORM public.configure_scene_image_fetch('{"allowed_hosts": [], "allow_private_networks": false}'); END $$;
UPDATE scene_images_internal.settings
SET value = value || '{"max_attempts": 3, "retry_base_s": 60, "retry_max_s": 300, "lease_s": 300}'
WHERE name = 'queue';
-- Completions must name the URL the configured backend gives their path: a known base URL.
UPDATE scene_images_internal.settings
SET value = jsonb_set(value, '{settings,public_base_url}', '"http://127.0.0.1:54380"')
WHERE name = 'storage';
-- The queue is global: jobs other tests left behind would be claimed here. Gone until ROLLBACK.
DELETE FROM scene_images_internal.scene_image_jobs;
SELECT plan(187);

-- A job of the test project by its scene_id, read afresh at each call.
CREATE FUNCTION pg_temp.job(scene text) RETURNS scene_images_internal.scene_image_jobs
LANGUAGE sql AS $$
    SELECT * FROM scene_images_internal.scene_image_jobs
    WHERE project_id = '00000000-0000-4000-8000-0000000000d1' AND scene_id = scene
$$;

-- Its lease ran out (the transaction's clock stands still, so the time is moved instead).
CREATE PROCEDURE pg_temp.expire_lease(scene text)
LANGUAGE sql AS $$
    UPDATE scene_images_internal.scene_image_jobs SET lease_expires_at = now() - interval '1 second'
    WHERE project_id = '00000000-0000-4000-8000-0000000000d1' AND scene_id = scene
$$;

-- Its backoff has passed.
CREATE PROCEDURE pg_temp.make_due(scene text)
LANGUAGE sql AS $$
    UPDATE scene_images_internal.scene_image_jobs SET available_at = now()
    WHERE project_id = '00000000-0000-4000-8000-0000000000d1' AND scene_id = scene
$$;

-- === Shape ===================================================================================

SELECT function_returns('public', 'enqueue_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb'],
    'scene_images_internal.scene_image_jobs', 'enqueue_scene_image returns a job');
SELECT function_returns('public', 'enqueue_scene_images', ARRAY['uuid', 'jsonb'],
    'setof scene_images_internal.scene_image_jobs', 'enqueue_scene_images returns jobs');
SELECT function_returns('public', 'get_scene_image_job', ARRAY['uuid'],
    'scene_images_internal.scene_image_jobs', 'get_scene_image_job returns a job');
SELECT function_returns('public', 'retry_scene_image_job', ARRAY['uuid'],
    'scene_images_internal.scene_image_jobs', 'retry_scene_image_job returns a job');
SELECT function_returns('public', 'claim_scene_image_jobs', ARRAY['text', 'integer', 'interval'],
    'setof scene_images_internal.scene_image_jobs', 'claim_scene_image_jobs returns jobs');
SELECT function_returns('public', 'complete_scene_image_job',
    ARRAY['uuid', 'text', 'text', 'text', 'bigint', 'text', 'text', 'integer', 'integer', 'jsonb'],
    'scene_images', 'complete_scene_image_job returns a scene_images row');
SELECT function_returns('public', 'fail_scene_image_job', ARRAY['uuid', 'text', 'text', 'text'],
    'scene_images_internal.scene_image_jobs', 'fail_scene_image_job returns a job');
SELECT function_returns('public', 'get_scene_image_worker_settings', ARRAY[]::text[], 'jsonb',
    'get_scene_image_worker_settings returns jsonb');
SELECT function_returns('public', 'get_scene_image_queue_counts', ARRAY[]::text[], 'jsonb',
    'get_scene_image_queue_counts returns jsonb');
SELECT function_returns('public', 'process_scene_image_jobs', ARRAY['integer'],
    'setof scene_images_internal.scene_image_jobs', 'process_scene_image_jobs returns jobs');
SELECT function_returns('public', 'store_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb', 'boolean'],
    'scene_image_outcome', 'store_scene_image with fallback returns a scene_image_outcome');

-- The queue's functions, as callers name them (named notation makes parameter names API).
CREATE TEMP TABLE queue_functions (signature regprocedure PRIMARY KEY, portable boolean NOT NULL) ON COMMIT DROP;
INSERT INTO queue_functions VALUES
    ('public.enqueue_scene_image(uuid, text, text, text, text, jsonb)', true),
    ('public.enqueue_scene_images(uuid, jsonb)', true),
    ('public.get_scene_image_job(uuid)', true),
    ('public.retry_scene_image_job(uuid)', true),
    ('public.claim_scene_image_jobs(text, integer, interval)', true),
    ('public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)', true),
    ('public.fail_scene_image_job(uuid, text, text, text)', true),
    ('public.get_scene_image_worker_settings()', true),
    ('public.get_scene_image_queue_counts()', true),
    ('public.process_scene_image_jobs(integer)', false),
    ('public.store_scene_image(uuid, text, text, text, text, jsonb, boolean)', false);

SELECT results_eq(
    $$SELECT p.proname::text COLLATE "default", coalesce(p.proargnames, '{}') COLLATE "default" FROM queue_functions AS f JOIN pg_proc AS p ON p.oid = f.signature
      ORDER BY p.proname, p.pronargs$$,
    $$VALUES ('claim_scene_image_jobs', ARRAY['worker', 'max_jobs', 'lease']),
             ('complete_scene_image_job', ARRAY['job_id', 'worker', 'storage_path', 'storage_url', 'file_size',
                                                'content_type', 'sha256', 'width', 'height', 'source']),
             ('enqueue_scene_image', ARRAY['project_id', 'scene_id', 'source_url', 'prompt', 'provider', 'metadata']),
             ('enqueue_scene_images', ARRAY['project_id', 'requests']),
             ('fail_scene_image_job', ARRAY['job_id', 'worker', 'sqlstate', 'message']),
             ('get_scene_image_job', ARRAY['job_id']),
             ('get_scene_image_queue_counts', '{}'),
             ('get_scene_image_worker_settings', '{}'),
             ('process_scene_image_jobs', ARRAY['max_jobs']),
             ('retry_scene_image_job', ARRAY['job_id']),
             ('store_scene_image', ARRAY['project_id', 'scene_id', 'source_url', 'prompt', 'provider', 'metadata', 'fallback'])$$,
    'the queue functions'' parameter names are the RPC contract');
SELECT is(
    (SELECT array_agg(f.signature::text ORDER BY 1) FROM queue_functions AS f JOIN pg_proc AS p ON p.oid = f.signature
     LEFT JOIN pg_proc AS twin ON twin.proname = p.proname AND twin.proargtypes = p.proargtypes
                              AND twin.pronamespace = 'scene_images_private'::regnamespace
     WHERE p.prosecdef OR twin.oid IS NULL OR NOT twin.prosecdef
        OR NOT coalesce(twin.proconfig @> ARRAY['search_path=pg_catalog, scene_images_internal, pg_temp'], false)),
    NULL, 'every queue function runs as the caller and reaches a SECURITY DEFINER twin with a fixed search_path');
-- The portable part is what a database without plpython3u (hosted Supabase) deploys.
SELECT is(
    (SELECT array_agg(f.signature::text ORDER BY 1) FROM queue_functions AS f JOIN pg_proc AS p ON p.oid = f.signature
     JOIN pg_language AS l ON l.oid = p.prolang WHERE f.portable AND l.lanname NOT IN ('sql', 'plpgsql')),
    NULL, 'enqueue, status, retry, claim, complete, fail and the worker''s reads are plain SQL or PL/pgSQL');
SELECT is(
    (SELECT array_agg(f.signature::text ORDER BY 1) FROM queue_functions AS f JOIN pg_proc AS p ON p.oid = f.signature
     LEFT JOIN pg_proc AS work ON work.proname = 'try_' || p.proname AND work.proargtypes = p.proargtypes
                              AND work.pronamespace = 'scene_images_internal'::regnamespace
     LEFT JOIN pg_language AS l ON l.oid = work.prolang WHERE NOT f.portable AND l.lanname IS DISTINCT FROM 'plpython3u'),
    NULL, 'process_scene_image_jobs and the fallback store do their work in PL/Python (try_*)');

-- === Grants, per role ========================================================================

SELECT function_privs_are('public', g.name, g.args, g.role, g.privs, format('%s: %s %s', g.name, g.role,
           CASE WHEN g.privs = '{}' THEN 'may not execute' ELSE 'may execute' END))
FROM (VALUES
    ('enqueue_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb'], ARRAY['authenticated', 'service_role']),
    ('enqueue_scene_images', ARRAY['uuid', 'jsonb'], ARRAY['authenticated', 'service_role']),
    ('get_scene_image_job', ARRAY['uuid'], ARRAY['authenticated', 'service_role']),
    ('retry_scene_image_job', ARRAY['uuid'], ARRAY['authenticated', 'service_role']),
    ('store_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb', 'boolean'], ARRAY['authenticated', 'service_role']),
    ('claim_scene_image_jobs', ARRAY['text', 'integer', 'interval'], ARRAY['scene_images_worker']),
    ('complete_scene_image_job', ARRAY['uuid', 'text', 'text', 'text', 'bigint', 'text', 'text', 'integer', 'integer', 'jsonb'],
        ARRAY['scene_images_worker']),
    ('fail_scene_image_job', ARRAY['uuid', 'text', 'text', 'text'], ARRAY['scene_images_worker']),
    ('get_scene_image_worker_settings', ARRAY[]::text[], ARRAY['scene_images_worker']),
    ('get_scene_image_queue_counts', ARRAY[]::text[], ARRAY['scene_images_worker', 'service_role']),
    ('process_scene_image_jobs', ARRAY['integer'], ARRAY['scene_images_worker'])
) AS f (name, args, allowed)
CROSS JOIN LATERAL (
    SELECT f.name, f.args, r.role, CASE WHEN r.role = ANY (f.allowed) THEN ARRAY['EXECUTE'] ELSE '{}'::text[] END AS privs
    FROM unnest(ARRAY['anon', 'authenticated', 'service_role', 'scene_images_worker']) AS r (role)
) AS g
ORDER BY g.name, g.args, g.role;

SELECT table_privs_are('scene_images_internal', 'scene_image_jobs', r.role, '{}', format('%s has no rights on the job table', r.role))
FROM unnest(ARRAY['anon', 'authenticated', 'service_role', 'scene_images_worker']) AS r (role);

-- === Behaviour ===============================================================================

INSERT INTO public.projects (id, name, owner_id) VALUES
    ('00000000-0000-4000-8000-0000000000d1', 'alice''s jobs', 'aaaaaaaa-0000-4000-8000-000000000001'),
    ('00000000-0000-4000-8000-0000000000d2', 'bob''s jobs', 'bbbbbbbb-0000-4000-8000-000000000002');

SELECT is(public.get_scene_image_queue_counts(),
    '{"queued": 0, "running": 0, "stored": 0, "failed": 0, "next_available_in_s": null}'::jsonb,
    'an empty queue counts nothing and has no next due time');
SELECT ok((SELECT array_agg(k) FROM jsonb_object_keys(public.get_scene_image_worker_settings()) AS k)
    @> ARRAY['fetch', 'limits', 'queue', 'storage'], 'the worker settings carry the fetch, limits, queue and storage settings');

-- Enqueue: a queued job at once, no traffic.
SELECT results_eq(
    $$SELECT scene_id, source_url, status, attempts, max_attempts, provider, metadata, prompt, locked_by, lease_expires_at
      FROM public.enqueue_scene_image(project_id => '00000000-0000-4000-8000-0000000000d1', scene_id => 'p1',
                                      source_url => 'http://127.0.0.1:9/p1.png', prompt => 'a lighthouse')$$,
    $$VALUES ('p1'::text, 'http://127.0.0.1:9/p1.png'::text, 'queued'::text, 0, 3, 'fal_ai_flux'::text, '{}'::jsonb,
              'a lighthouse'::text, NULL::text, NULL::timestamptz)$$,
    'enqueue_scene_image returns a queued job: no attempts yet, the queue''s max_attempts, the defaults');
SELECT is((public.get_scene_image_queue_counts() ->> 'queued')::int, 1, 'the queue counts the queued job');
SELECT is((public.get_scene_image_queue_counts() ->> 'next_available_in_s')::numeric, 0::numeric, 'a queued job is due at once');

-- The in-database worker: the loopback source is refused by the policy, before any connection.
SELECT results_eq(
    $$SELECT scene_id, status, attempts, last_error_sqlstate, lease_expires_at FROM public.process_scene_image_jobs(max_jobs => 5)$$,
    $$VALUES ('p1'::text, 'failed'::text, 1, 'SIU03'::text, NULL::timestamptz)$$,
    'process_scene_image_jobs runs a job in the database; a refused address (SIU03) fails it after one attempt');
SELECT is_empty($$SELECT * FROM public.process_scene_image_jobs()$$, 'process_scene_image_jobs with nothing ready does nothing');
SELECT throws_ok($$SELECT * FROM public.process_scene_image_jobs(max_jobs => 0)$$, '22023', NULL,
    'process_scene_image_jobs refuses max_jobs 0');

SELECT results_eq(
    $$SELECT scene_id, status, provider FROM public.enqueue_scene_images('00000000-0000-4000-8000-0000000000d1',
      '[{"scene_id": "c1", "source_url": "http://127.0.0.1:9/c1.png"},
        {"scene_id": "c2", "source_url": "http://127.0.0.1:9/c2.png", "provider": "dalle"},
        {"scene_id": "c3", "source_url": "http://127.0.0.1:9/c3.png", "metadata": {"seed": 7}}]')$$,
    $$VALUES ('c1'::text, 'queued'::text, 'fal_ai_flux'::text), ('c2', 'queued', 'dalle'), ('c3', 'queued', 'fal_ai_flux')$$,
    'enqueue_scene_images returns one queued job per request, in request order');

-- Enqueue refuses what store refuses, with the same SQLSTATEs.
SELECT throws_ok($$SELECT public.enqueue_scene_image(NULL, 's1', 'http://127.0.0.1:9/a.png')$$,
    '22004', NULL, 'enqueue refuses a NULL project_id');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', NULL, 'http://127.0.0.1:9/a.png')$$,
    '22004', 'scene_id must not be NULL', 'enqueue refuses a NULL scene_id, named');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', 's1', NULL)$$,
    '22004', 'source_url must not be NULL', 'enqueue refuses a NULL source_url, named');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', 's1', 'http://127.0.0.1:9/a.png', metadata => NULL)$$,
    '22004', 'metadata must not be NULL', 'enqueue refuses a NULL metadata, named');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', '../x', 'http://127.0.0.1:9/a.png')$$,
    '22023', NULL, 'enqueue refuses a path-traversal scene_id');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', 's1', 'http://127.0.0.1:9/a.png', metadata => '[1]')$$,
    '22023', NULL, 'enqueue refuses metadata that is not an object');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', 's1', 'file:///etc/passwd')$$,
    'SIU01', NULL, 'enqueue refuses a file:// URL');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', 's1', 'http://user:hunter2@127.0.0.1:9/a.png')$$,
    'SIU01', 'source URL http://127.0.0.1:9/a.png carries credentials, which are refused',
    'enqueue refuses credentials in the URL and does not repeat them');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000ff', 's1', 'http://127.0.0.1:9/a.png')$$,
    'SIP01', NULL, 'enqueue refuses an unknown project');
SELECT throws_ok($$SELECT * FROM public.enqueue_scene_images('00000000-0000-4000-8000-0000000000d1', '[]')$$,
    '22023', NULL, 'enqueue_scene_images refuses an empty array');
SELECT throws_ok($$SELECT * FROM public.enqueue_scene_images('00000000-0000-4000-8000-0000000000d1',
      '[{"scene_id": "s1", "source_url": "http://127.0.0.1:9/a.png"}, {"scene_id": "s1", "source_url": "http://127.0.0.1:9/b.png"}]')$$,
    '22023', NULL, 'enqueue_scene_images refuses a scene_id given twice');
SELECT throws_ok(
    format($$SELECT * FROM public.enqueue_scene_images('00000000-0000-4000-8000-0000000000d1', %L)$$,
           (SELECT jsonb_agg(jsonb_build_object('scene_id', 's' || i, 'source_url', 'http://127.0.0.1:9/a.png'))
            FROM generate_series(1, 201) AS i)),
    '54000', NULL, 'enqueue_scene_images refuses more than 200 requests');
SELECT is((SELECT count(*)::int FROM scene_images_internal.scene_image_jobs), 4, 'refused requests queued nothing');

-- Claim: FOR UPDATE SKIP LOCKED; a claimed job is running, attempt 1, leased, and not claimed again.
SELECT results_eq(
    $$SELECT status, attempts, locked_by, locked_by_login = session_user, lease_expires_at = now() + interval '5 minutes'
      FROM public.claim_scene_image_jobs(worker => 'w1', max_jobs => 2, lease => '5 minutes')$$,
    $$VALUES ('running'::text, 1, 'w1'::text, true, true), ('running', 1, 'w1', true, true)$$,
    'claim leases at most max_jobs ready jobs: running, attempt 1, lease set, locked_by the worker and the login');
SELECT results_eq(
    $$SELECT status, attempts, locked_by FROM public.claim_scene_image_jobs(worker => 'w2', max_jobs => 10, lease => '5 minutes')$$,
    $$VALUES ('running'::text, 1, 'w2'::text)$$,
    'a second claim gets only the job nobody holds');
SELECT is_empty($$SELECT * FROM public.claim_scene_image_jobs(worker => 'w3')$$,
    'a third claim gets nothing: leased jobs are not claimed again, failed ones never');
SELECT results_eq(
    $$SELECT locked_by, count(*)::int FROM scene_images_internal.scene_image_jobs WHERE scene_id IN ('c1', 'c2', 'c3')
      AND status = 'running' GROUP BY locked_by ORDER BY locked_by$$,
    $$VALUES ('w1'::text, 2), ('w2', 1)$$, 'the three jobs are running: two for w1, one for w2');
SELECT ok((SELECT pg_get_functiondef('scene_images_private.claim_scene_image_jobs(text, integer, interval)'::regprocedure) ~ 'FOR UPDATE SKIP LOCKED'),
    'claim takes its candidates FOR UPDATE SKIP LOCKED (concurrent claims: py/tests/test_jobs_worker.py)');
SELECT throws_ok($$SELECT * FROM public.claim_scene_image_jobs(worker => NULL)$$, '22023', NULL, 'claim refuses a NULL worker');
SELECT throws_ok($$SELECT * FROM public.claim_scene_image_jobs(worker => 'w', max_jobs => 0)$$, '22023', NULL, 'claim refuses max_jobs 0');
SELECT throws_ok($$SELECT * FROM public.claim_scene_image_jobs(worker => 'w', lease => '0 seconds')$$, '22023', NULL, 'claim refuses a zero lease');
SELECT throws_ok($$SELECT * FROM public.claim_scene_image_jobs(worker => 'w', lease => '-1 minute')$$, '22023', NULL, 'claim refuses a negative lease');

-- Complete: the row is inserted with the job's facts; versioning and masterJSON apply.
SELECT results_eq(
    $$SELECT scene_id, version, is_current, storage_url, content_type, provider, original_fal_url,
             fal_metadata ->> 'job_id' = (pg_temp.job('c1')).id::text, fal_metadata -> 'source'
      FROM public.complete_scene_image_job(job_id => (pg_temp.job('c1')).id, worker => (pg_temp.job('c1')).locked_by,
          storage_path => 'projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120000000000Z_aaaaaaaaaaaa.png',
          storage_url => 'http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120000000000Z_aaaaaaaaaaaa.png',
          file_size => 90, content_type => 'image/png', sha256 => repeat('a', 64), width => 10, height => 8,
          source => '{"status": 200}')$$,
    $$VALUES ('c1'::text, 1, true, 'http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120000000000Z_aaaaaaaaaaaa.png'::text,
              'image/png'::text, 'fal_ai_flux'::text, 'http://127.0.0.1:9/c1.png'::text, true, '{"status": 200}'::jsonb)$$,
    'complete inserts the job''s row: version 1, current, with the job''s provider, source URL, id and the source facts');
SELECT results_eq(
    $$SELECT j.status, j.lease_expires_at, j.scene_image_id = si.id FROM pg_temp.job('c1') AS j
      JOIN public.scene_images AS si ON si.project_id = j.project_id AND si.scene_id = j.scene_id$$,
    $$VALUES ('stored'::text, NULL::timestamptz, true)$$,
    'the completed job is stored, without a lease, pointing at its row');
SET CONSTRAINTS ALL IMMEDIATE;
SELECT is((SELECT master_json #>> '{scenes,c1,scene_start_frame}' FROM public.projects WHERE id = '00000000-0000-4000-8000-0000000000d1'),
    'http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120000000000Z_aaaaaaaaaaaa.png',
    'masterJSON points at the completed job''s permanent URL');
SELECT is(
    (public.complete_scene_image_job(job_id => (pg_temp.job('c1')).id, worker => 'w1',
        storage_path => 'projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120001000000Z_bbbbbbbbbbbb.png',
        storage_url => 'http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120001000000Z_bbbbbbbbbbbb.png',
        file_size => 91, content_type => 'image/png', sha256 => repeat('b', 64), width => 10, height => 8)).storage_path,
    'projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120000000000Z_aaaaaaaaaaaa.png',
    'the holder completing its stored job again gets the same row (it deletes its surplus object)');
SELECT throws_ok(
    format($$SELECT public.complete_scene_image_job(job_id => %L, worker => 'late-worker',
        storage_path => 'projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120001000000Z_bbbbbbbbbbbb.png',
        storage_url => 'http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120001000000Z_bbbbbbbbbbbb.png',
        file_size => 91, content_type => 'image/png', sha256 => repeat('b', 64), width => 10, height => 8)$$, (pg_temp.job('c1')).id),
    'SIJ04', NULL, 'another worker completing a stored job is refused (SIJ04), not answered with the row');
SELECT is((SELECT count(*)::int FROM public.scene_images WHERE project_id = '00000000-0000-4000-8000-0000000000d1' AND scene_id = 'c1'),
    1, 'completing twice made one row');
SELECT throws_ok($$SELECT public.complete_scene_image_job('00000000-0000-4000-8000-00000000dead', 'w', 'p/x.png',
      'http://127.0.0.1/x.png', 1, 'image/png', repeat('a', 64), 1, 1)$$,
    'SIJ01', NULL, 'complete refuses an unknown job');

-- Fail: transient errors come back after backoff; permanent ones and the last attempt fail the job.
SELECT results_eq(
    $$SELECT status, attempts, last_error_sqlstate, last_error, lease_expires_at,
             available_at BETWEEN now() + interval '30 seconds' AND now() + interval '60 seconds'
      FROM public.fail_scene_image_job(job_id => (pg_temp.job('c2')).id, worker => (pg_temp.job('c2')).locked_by,
                                       sqlstate => 'SIF01', message => 'HTTP status 503 Service Unavailable')$$,
    $$VALUES ('queued'::text, 1, 'SIF01'::text, 'HTTP status 503 Service Unavailable'::text, NULL::timestamptz, true)$$,
    'a transient failure (SIF01) queues the job again, due after retry_base_s with jitter (30-60 s)');
SELECT ok((public.get_scene_image_queue_counts() ->> 'next_available_in_s')::numeric BETWEEN 30 AND 60,
    'the queue counts tell when the backed-off job is due');
SELECT is_empty($$SELECT * FROM public.claim_scene_image_jobs(worker => 'w3')$$, 'a job waiting out its backoff is not claimed');
CALL pg_temp.make_due('c2');
SELECT results_eq($$SELECT scene_id, attempts FROM public.claim_scene_image_jobs(worker => 'w1')$$,
    $$VALUES ('c2'::text, 2)$$, 'once due, the job is claimed again: attempt 2');
SELECT is((public.fail_scene_image_job((pg_temp.job('c2')).id, 'w1', 'SIF03', 'timed out')).status, 'queued',
    'attempt 2 of 3 failing transiently is retried too');
CALL pg_temp.make_due('c2');
SELECT results_eq($$SELECT scene_id, attempts FROM public.claim_scene_image_jobs(worker => 'w1')$$,
    $$VALUES ('c2'::text, 3)$$, 'attempt 3');
SELECT results_eq(
    $$SELECT status, attempts, last_error_sqlstate FROM public.fail_scene_image_job((pg_temp.job('c2')).id, 'w1', 'SIF04', 'refused')$$,
    $$VALUES ('failed'::text, 3, 'SIF04'::text)$$, 'after max_attempts a transient failure fails the job');
SELECT results_eq(
    $$SELECT status, attempts, last_error_sqlstate FROM public.fail_scene_image_job(job_id => (pg_temp.job('c3')).id,
          worker => (pg_temp.job('c3')).locked_by, sqlstate => 'SII01', message => 'SourceNotAnImage: the body is HTML')$$,
    $$VALUES ('failed'::text, 1, 'SII01'::text)$$, 'a permanent failure (SII01) fails the job at once, after one attempt');
SELECT throws_ok($$SELECT public.fail_scene_image_job('00000000-0000-4000-8000-00000000dead', 'w', 'SIF01', 'x')$$,
    'SIJ01', NULL, 'fail refuses an unknown job');

-- Leases that run out: the job is claimed again, or failed (SIJ03) when it was the last attempt.
SELECT results_eq(
    $$SELECT scene_id, attempts FROM public.enqueue_scene_images('00000000-0000-4000-8000-0000000000d1',
      '[{"scene_id": "e1", "source_url": "http://127.0.0.1:9/e1.png"}, {"scene_id": "e2", "source_url": "http://127.0.0.1:9/e2.png"}]')$$,
    $$VALUES ('e1'::text, 0), ('e2', 0)$$, 'two more jobs queued');
SELECT results_eq($$SELECT scene_id FROM public.claim_scene_image_jobs(worker => 'w1', lease => '3 seconds') ORDER BY scene_id$$,
    $$VALUES ('e1'::text), ('e2')$$, 'worker w1 claims both');
CALL pg_temp.expire_lease('e1');
CALL pg_temp.expire_lease('e2');
SELECT results_eq(
    $$SELECT scene_id, status, attempts, locked_by, lease_expires_at = now() + interval '300 seconds'
      FROM public.claim_scene_image_jobs(worker => 'w3') ORDER BY scene_id$$,
    $$VALUES ('e1'::text, 'running'::text, 2, 'w3'::text, true), ('e2', 'running', 2, 'w3', true)$$,
    'jobs whose lease expired are claimed again (attempt 2), leased for the queue''s lease_s by default');
SELECT throws_ok(format($$SELECT public.fail_scene_image_job(%L, 'w1', 'SII01', 'late')$$, (pg_temp.job('e1')).id),
    'SIJ04', NULL, 'a report from the worker whose lease expired is refused (SIJ04): the job is w3''s now');
SELECT results_eq($$SELECT status, attempts, locked_by, last_error_sqlstate FROM pg_temp.job('e1')$$,
    $$VALUES ('running'::text, 2, 'w3'::text, NULL::text)$$, 'the refused stale report changed nothing');
CALL pg_temp.expire_lease('e2');
SELECT results_eq($$SELECT scene_id, attempts FROM public.claim_scene_image_jobs(worker => 'w4')$$,
    $$VALUES ('e2'::text, 3)$$, 'the last attempt is claimed like the others');
CALL pg_temp.expire_lease('e2');
SELECT is_empty($$SELECT * FROM public.claim_scene_image_jobs(worker => 'w5')$$,
    'a job whose lease expired on its last attempt is not claimed again');
SELECT results_eq($$SELECT status, attempts, last_error_sqlstate, lease_expires_at FROM pg_temp.job('e2')$$,
    $$VALUES ('failed'::text, 3, 'SIJ03'::text, NULL::timestamptz)$$, 'it failed with SIJ03 instead');
SELECT is((pg_temp.job('e2')).locked_by, 'w4', 'the failed job keeps the holder that stopped answering on record');
SELECT ok((pg_temp.job('e2')).last_error LIKE '%w4%', 'the SIJ03 message names the worker that stopped answering');
SELECT is(public.get_scene_image_queue_counts() - 'next_available_in_s',
    '{"queued": 0, "running": 1, "stored": 1, "failed": 4}'::jsonb, 'the queue counts each status');

-- Retry: only failed jobs, with fresh attempts.
SELECT results_eq(
    $$SELECT status, attempts, available_at = now(), last_error_sqlstate FROM public.retry_scene_image_job((pg_temp.job('c3')).id)$$,
    $$VALUES ('queued'::text, 0, true, 'SII01'::text)$$,
    'retry queues a failed job at once with fresh attempts (the last error kept for reference)');
SELECT throws_ok(format('SELECT public.retry_scene_image_job(%L)', (pg_temp.job('c3')).id), 'SIJ02', NULL,
    'retry refuses a queued job');
SELECT throws_ok(format('SELECT public.retry_scene_image_job(%L)', (pg_temp.job('e1')).id), 'SIJ02', NULL,
    'retry refuses a running job');
SELECT throws_ok(format('SELECT public.retry_scene_image_job(%L)', (pg_temp.job('c1')).id), 'SIJ02', NULL,
    'retry refuses a stored job');
SELECT throws_ok($$SELECT public.retry_scene_image_job('00000000-0000-4000-8000-00000000dead')$$, 'SIJ01', NULL,
    'retry refuses an unknown job');
SELECT is((public.get_scene_image_job((pg_temp.job('c1')).id)).status, 'stored', 'get_scene_image_job tells a job''s status');
SELECT throws_ok($$SELECT public.get_scene_image_job('00000000-0000-4000-8000-00000000dead')$$, 'SIJ01', NULL,
    'get_scene_image_job refuses an unknown job');

-- Clients and workers, each only their part.
SELECT id AS bob_job FROM public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d2', 'b1', 'http://127.0.0.1:9/b1.png') \gset
-- As alice, through the JWT claims PostgREST sets.
SET LOCAL request.jwt.claims = '{"sub": "aaaaaaaa-0000-4000-8000-000000000001", "role": "authenticated"}';
SET LOCAL ROLE authenticated;
SELECT is((public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', 'a1', 'http://127.0.0.1:9/a1.png')).status, 'queued',
    'alice enqueues into her own project');
SELECT id AS alice_job FROM public.enqueue_scene_images('00000000-0000-4000-8000-0000000000d1',
    '[{"scene_id": "a2", "source_url": "http://127.0.0.1:9/a2.png"}]') \gset
SELECT is((public.get_scene_image_job(:'alice_job')).scene_id, 'a2', 'alice reads the status of her own job');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d2', 'a3', 'http://127.0.0.1:9/a3.png')$$,
    '42501', NULL, 'alice cannot enqueue into bob''s project');
SELECT throws_ok(format('SELECT public.get_scene_image_job(%L)', :'bob_job'), 'SIJ01', NULL, 'alice cannot read bob''s job (answered as missing)');
SELECT throws_ok(format('SELECT public.retry_scene_image_job(%L)', :'bob_job'), 'SIJ01', NULL, 'alice cannot retry bob''s job (answered as missing)');
SELECT throws_ok($$SELECT * FROM public.claim_scene_image_jobs(worker => 'alice')$$, '42501', NULL, 'alice cannot claim jobs');
SELECT throws_ok($$SELECT * FROM scene_images_internal.scene_image_jobs$$, '42501', NULL, 'alice cannot read the job table');
RESET ROLE;
SET LOCAL ROLE scene_images_worker;
SELECT results_eq(
    $$SELECT j.scene_id, j.attempts, f.status, f.last_error_sqlstate
      FROM public.claim_scene_image_jobs(worker => 'worker-role', max_jobs => 10) AS j
      CROSS JOIN LATERAL public.fail_scene_image_job(j.id, 'worker-role', 'SII02', 'too many pixels') AS f
      ORDER BY j.scene_id$$,
    $$VALUES ('a1'::text, 1, 'failed'::text, 'SII02'::text), ('a2', 1, 'failed', 'SII02'), ('b1', 1, 'failed', 'SII02'),
             ('c3', 1, 'failed', 'SII02')$$,
    'the worker role claims every ready job, whoever enqueued it, and reports on them');
SELECT throws_ok($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', 'w1', 'http://127.0.0.1:9/w.png')$$,
    '42501', NULL, 'a worker cannot enqueue');
SELECT throws_ok(format('SELECT public.get_scene_image_job(%L)', :'bob_job'), '42501', NULL, 'a worker cannot use the client functions');
SELECT throws_ok($$SELECT * FROM scene_images_internal.scene_image_jobs$$, '42501', NULL, 'a worker cannot read the job table directly');
RESET ROLE;

-- === Reports are bound to the claim; completion facts are checked =============================

-- A fresh job for scene f1 and what must not change while forged reports are refused.
SELECT id AS f1 FROM public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', 'f1', 'http://127.0.0.1:9/f1.png') \gset
SELECT 'projects/00000000-0000-4000-8000-0000000000d1/scenes/f1_20261125T120000123456Z_cccccccccccc.png' AS f1_path \gset
SELECT 'http://127.0.0.1:54380/' || :'f1_path' AS f1_url \gset
-- Complete f1 as `worker` with these facts; the defaults are true ones, path and URL are the test's.
CREATE FUNCTION pg_temp.complete_f1(worker text, path text, url text, type text DEFAULT 'image/png',
                                    sha text DEFAULT repeat('c', 64), size bigint DEFAULT 90, width int DEFAULT 10,
                                    source jsonb DEFAULT '{}')
RETURNS public.scene_images LANGUAGE sql AS $$
    SELECT * FROM public.complete_scene_image_job(current_setting('pgtap.f1')::uuid, worker, path, url, size, type,
                                                  sha, width, 8, source)
$$;
SELECT set_config('pgtap.f1', :'f1', true), set_config('pgtap.f1_path', :'f1_path', true),
       set_config('pgtap.f1_url', :'f1_url', true) \gset ignored_

SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'))$$,
    'SIJ04', NULL, 'completing a job nobody claimed is refused (SIJ04)');
SELECT throws_ok(format($$SELECT public.fail_scene_image_job(%L, 'fw', 'SIF01', 'x')$$, :'f1'),
    'SIJ04', NULL, 'failing a job nobody claimed is refused (SIJ04)');
SELECT results_eq($$SELECT scene_id, locked_by, locked_by_login = session_user FROM public.claim_scene_image_jobs(worker => 'fw')$$,
    $$VALUES ('f1'::text, 'fw'::text, true)$$, 'worker fw claims f1 from this login');
SELECT to_jsonb(j) AS f1_claimed FROM scene_images_internal.scene_image_jobs AS j WHERE j.id = :'f1' \gset
SELECT count(*) AS rows_before FROM public.scene_images \gset
SELECT master_json AS master_before FROM public.projects WHERE id = '00000000-0000-4000-8000-0000000000d1' \gset

SELECT throws_ok($$SELECT pg_temp.complete_f1('fx', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'))$$,
    'SIJ04', NULL, 'another worker completing a claimed job is refused (SIJ04)');
SELECT throws_ok(format($$SELECT public.fail_scene_image_job(%L, 'fx', 'SII01', 'forged')$$, :'f1'),
    'SIJ04', NULL, 'another worker failing a claimed job is refused (SIJ04)');
-- The same worker name from another login (session_user): only a superuser may switch it, as here.
CREATE ROLE scene_images_pgtap_other_login LOGIN IN ROLE scene_images_worker;
SET LOCAL SESSION AUTHORIZATION scene_images_pgtap_other_login;
DO $$
BEGIN
    PERFORM public.complete_scene_image_job(current_setting('pgtap.f1')::uuid, 'fw', current_setting('pgtap.f1_path'),
        current_setting('pgtap.f1_url'), 90, 'image/png', repeat('c', 64), 10, 8);
    PERFORM set_config('pgtap.complete_other_login', 'accepted', true);
EXCEPTION WHEN OTHERS THEN
    PERFORM set_config('pgtap.complete_other_login', SQLSTATE, true);
END
$$;
DO $$
BEGIN
    PERFORM public.fail_scene_image_job(current_setting('pgtap.f1')::uuid, 'fw', 'SII01', 'forged');
    PERFORM set_config('pgtap.fail_other_login', 'accepted', true);
EXCEPTION WHEN OTHERS THEN
    PERFORM set_config('pgtap.fail_other_login', SQLSTATE, true);
END
$$;
RESET SESSION AUTHORIZATION;
SELECT is(current_setting('pgtap.complete_other_login'), 'SIJ04',
    'the same worker name completing from another login is refused (SIJ04)');
SELECT is(current_setting('pgtap.fail_other_login'), 'SIJ04',
    'the same worker name failing from another login is refused (SIJ04)');

-- Forged facts from the holder itself: 22023 (22004 for a NULL), each before anything is written.
SELECT throws_ok(format($$SELECT pg_temp.complete_f1('fw', %L, %L)$$, p, 'http://127.0.0.1:54380/' || p), '22023', NULL, d)
FROM (VALUES
    ('projects/00000000-0000-4000-8000-0000000000d2/scenes/f1_20261125T120000123456Z_cccccccccccc.png',
     'a storage_path in another project is refused'),
    ('projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_20261125T120000123456Z_cccccccccccc.png',
     'a storage_path of another scene is refused'),
    ('projects/00000000-0000-4000-8000-0000000000d1/scenes/f1_../../../00000000-0000-4000-8000-0000000000d2/scenes/f1_20261125T120000123456Z_cccccccccccc.png',
     'a storage_path climbing out of the scene is refused'),
    ('projects/00000000-0000-4000-8000-0000000000d1/scenes/f1_20261125T120000123456Z_dddddddddddd.png',
     'a storage_path whose hash is not the sha256''s is refused'),
    ('projects/00000000-0000-4000-8000-0000000000d1/scenes/f1_20261125T120000123456Z_cccccccccccc.jpg',
     'a storage_path whose extension is not the content type''s is refused'),
    ('projects/00000000-0000-4000-8000-0000000000d1/scenes/f1_20261345T120000123456Z_cccccccccccc.png',
     'a storage_path with an impossible time is refused'),
    ('projects/00000000-0000-4000-8000-0000000000d1/scenes/f1_2026-11-25_cccccccccccc.png',
     'a storage_path without the UTC time is refused'),
    ('projects/00000000-0000-4000-8000-0000000000d1/scenes/f1_20261125T120000123456Z_cccccccccccc.png.html',
     'a storage_path with a suffix is refused'),
    ('elsewhere/f1.png', 'a storage_path outside projects/ is refused')
) AS forged (p, d);
SELECT throws_ok(format($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), %L)$$, u), '22023', NULL, d)
FROM (VALUES
    ('file:///etc/passwd', 'a storage_url of file:///etc/passwd is refused'),
    ('javascript:alert(document.cookie)//' || :'f1_path', 'a javascript: storage_url is refused'),
    ('https://attacker.example/' || :'f1_path', 'a storage_url on an outside host is refused'),
    ('http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d2/x.png', 'a storage_url of another object is refused'),
    ('http://127.0.0.1:54380//' || :'f1_path', 'a storage_url that is not exactly the backend''s is refused')
) AS forged (u, d);
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', replace(current_setting('pgtap.f1_path'), '.png', '.svg'),
                                              replace(current_setting('pgtap.f1_url'), '.png', '.svg'), 'image/svg+xml')$$,
    '22023', NULL, 'image/svg+xml is refused: the sniffer never produces it');
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'), 'image/svg+xml')$$,
    '22023', NULL, 'image/svg+xml is refused under a .png path too');
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'), 'text/html')$$,
    '22023', NULL, 'a content type that is no image is refused');
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'), sha => repeat('C', 64))$$,
    '22023', NULL, 'an upper-case sha256 is refused');
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'), sha => 'cccccccccccc')$$,
    '22023', NULL, 'a short sha256 is refused');
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'), size => 0)$$,
    '22023', NULL, 'a file_size of 0 is refused');
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'), width => -1)$$,
    '22023', NULL, 'a negative width is refused');
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'), source => '[1]')$$,
    '22023', NULL, 'a source that is not an object is refused');
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), NULL)$$,
    '22004', 'storage_url must not be NULL', 'a NULL storage_url is refused, named');
SELECT is((SELECT to_jsonb(j) FROM scene_images_internal.scene_image_jobs AS j WHERE j.id = :'f1'), :'f1_claimed'::jsonb,
    'the refused reports left the job exactly as claimed');
SELECT is((SELECT count(*) FROM public.scene_images), :'rows_before'::bigint, 'the refused reports made no row');
SELECT is((SELECT master_json FROM public.projects WHERE id = '00000000-0000-4000-8000-0000000000d1'), :'master_before'::jsonb,
    'the refused reports left masterJSON as it was');

-- A lease that ran out: the holder's report is stale.
UPDATE scene_images_internal.scene_image_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = :'f1';
SELECT throws_ok($$SELECT pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'))$$,
    'SIJ04', NULL, 'completing after the lease ran out is refused (SIJ04)');
SELECT throws_ok(format($$SELECT public.fail_scene_image_job(%L, 'fw', 'SIF01', 'late')$$, :'f1'),
    'SIJ04', NULL, 'failing after the lease ran out is refused (SIJ04)');
SELECT results_eq($$SELECT scene_id, attempts FROM public.claim_scene_image_jobs(worker => 'fw')$$,
    $$VALUES ('f1'::text, 2)$$, 'the job is claimed again: attempt 2');
SELECT results_eq(
    $$SELECT scene_id, storage_path, storage_url, content_type, sha256
      FROM pg_temp.complete_f1('fw', current_setting('pgtap.f1_path'), current_setting('pgtap.f1_url'))$$,
    format($$VALUES ('f1'::text, %L::text, %L::text, 'image/png'::text, repeat('c', 64))$$, :'f1_path', :'f1_url'),
    'the holder with a live lease and true facts completes the job');
SELECT is((SELECT master_json #>> '{scenes,f1,scene_start_frame}' FROM public.projects WHERE id = '00000000-0000-4000-8000-0000000000d1'),
    :'f1_url', 'masterJSON points at it');
SELECT throws_ok(format($$SELECT public.fail_scene_image_job(%L, 'fw', 'SIF01', 'late')$$, :'f1'),
    'SIJ04', NULL, 'failing a stored job is refused (SIJ04)');
-- Another job of the scene may not record an object that is already a row's.
SELECT id AS f1b FROM public.enqueue_scene_image('00000000-0000-4000-8000-0000000000d1', 'f1', 'http://127.0.0.1:9/f1b.png') \gset
SELECT is((SELECT count(*)::int FROM public.claim_scene_image_jobs(worker => 'fw')), 1, 'a second job of f1 is claimed');
SELECT throws_ok(format($$SELECT public.complete_scene_image_job(%L, 'fw', %L, %L, 90, 'image/png', repeat('c', 64), 10, 8)$$,
                        :'f1b', :'f1_path', :'f1_url'),
    '22023', NULL, 'a storage_path that is already a row''s object is refused');
SELECT results_eq(format($$SELECT status, fail.last_error_sqlstate FROM public.fail_scene_image_job(%L, 'fw', 'SII01', 'no image') AS fail$$, :'f1b'),
    $$VALUES ('failed'::text, 'SII01'::text)$$, 'the holder fails its job');
SELECT throws_ok(format($$SELECT public.complete_scene_image_job(%L, 'fw', %L, %L, 90, 'image/png', repeat('e', 64), 10, 8)$$,
                        :'f1b', replace(:'f1_path', 'cccccccccccc', 'eeeeeeeeeeee'), replace(:'f1_url', 'cccccccccccc', 'eeeeeeeeeeee')),
    'SIJ04', NULL, 'completing a failed job is refused (SIJ04)');

-- The URL each backend gives a path, as py/scene_images_core/backends build it.
UPDATE scene_images_internal.settings SET value = jsonb_build_object('backend', 's3', 'settings', jsonb_build_object(
    'endpoint_url', E' http://127.0.0.1:9000//\t', 'region', 'us-east-1', 'bucket', 'my bucket v', 'access_key_id', 'k',
    'secret_access_key', 's')) WHERE name = 'storage';
SELECT is(scene_images_internal.storage_object_url('projects/p/scenes/a_b.png'),
    'http://127.0.0.1:9000/my%20bucket%20v/projects/p/scenes/a_b.png', 's3: {endpoint_url}/{bucket} by default, trimmed and quoted');
UPDATE scene_images_internal.settings SET value = jsonb_set(value, '{settings,public_base_url}', '"https://cdn.example/img/"')
WHERE name = 'storage';
SELECT is(scene_images_internal.storage_object_url('projects/p/scenes/a_b.png'),
    'https://cdn.example/img/projects/p/scenes/a_b.png', 's3: public_base_url when given, without its trailing slash');
UPDATE scene_images_internal.settings SET value = jsonb_build_object('backend', 'supabase', 'settings', jsonb_build_object(
    'url', 'https://abc.supabase.co/', 'service_key', 'k', 'bucket', 'scene-images')) WHERE name = 'storage';
SELECT is(scene_images_internal.storage_object_url('projects/p/scenes/a_b.png'),
    'https://abc.supabase.co/storage/v1/object/public/scene-images/projects/p/scenes/a_b.png', 'supabase: {url}/storage/v1/object/public/{bucket}/{path}');
UPDATE scene_images_internal.settings SET value = jsonb_set(value, '{settings,api_url}', '"http://127.0.0.1:5000/"')
WHERE name = 'storage';
SELECT is(scene_images_internal.storage_object_url('projects/p/scenes/a_b.png'),
    'http://127.0.0.1:5000/object/public/scene-images/projects/p/scenes/a_b.png', 'supabase: api_url instead of url when given');
UPDATE scene_images_internal.settings SET value = '{"backend": "ftp", "settings": {}}' WHERE name = 'storage';
SELECT throws_ok($$SELECT scene_images_internal.storage_object_url('projects/p/scenes/a_b.png')$$, 'SIS02', NULL,
    'an unknown backend gives no URL (SIS02)');

SELECT * FROM finish();
ROLLBACK;
