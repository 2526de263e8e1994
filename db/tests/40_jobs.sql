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
-- The queue is global: jobs other tests left behind would be claimed here. Gone until ROLLBACK.
DELETE FROM scene_images_internal.scene_image_jobs;
SELECT plan(136);

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
     JOIN pg_proc AS twin ON twin.proname = p.proname AND twin.proargtypes = p.proargtypes
                         AND twin.pronamespace = 'scene_images_private'::regnamespace
     JOIN pg_language AS l ON l.oid = twin.prolang WHERE NOT f.portable AND l.lanname <> 'plpython3u'),
    NULL, 'process_scene_image_jobs and the fallback store are PL/Python');

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
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(public.get_scene_image_worker_settings()) AS k),
    ARRAY['fetch', 'limits', 'queue', 'storage'], 'the worker settings carry the fetch, limits, queue and storage settings');

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
    $$SELECT status, attempts, locked_by, lease_expires_at = now() + interval '5 minutes'
      FROM public.claim_scene_image_jobs(worker => 'w1', max_jobs => 2, lease => '5 minutes')$$,
    $$VALUES ('running'::text, 1, 'w1'::text, true), ('running', 1, 'w1', true)$$,
    'claim leases at most max_jobs ready jobs: running, attempt 1, lease set, locked_by the worker');
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
          storage_path => 'projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_a.png',
          storage_url => 'http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_a.png',
          file_size => 90, content_type => 'image/png', sha256 => repeat('a', 64), width => 10, height => 8,
          source => '{"status": 200}')$$,
    $$VALUES ('c1'::text, 1, true, 'http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_a.png'::text,
              'image/png'::text, 'fal_ai_flux'::text, 'http://127.0.0.1:9/c1.png'::text, true, '{"status": 200}'::jsonb)$$,
    'complete inserts the job''s row: version 1, current, with the job''s provider, source URL, id and the source facts');
SELECT results_eq(
    $$SELECT j.status, j.lease_expires_at, j.scene_image_id = si.id FROM pg_temp.job('c1') AS j
      JOIN public.scene_images AS si ON si.project_id = j.project_id AND si.scene_id = j.scene_id$$,
    $$VALUES ('stored'::text, NULL::timestamptz, true)$$,
    'the completed job is stored, without a lease, pointing at its row');
SET CONSTRAINTS ALL IMMEDIATE;
SELECT is((SELECT master_json #>> '{scenes,c1,scene_start_frame}' FROM public.projects WHERE id = '00000000-0000-4000-8000-0000000000d1'),
    'http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_a.png',
    'masterJSON points at the completed job''s permanent URL');
SELECT is(
    (public.complete_scene_image_job(job_id => (pg_temp.job('c1')).id, worker => 'late-worker',
        storage_path => 'projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_b.png',
        storage_url => 'http://127.0.0.1:54380/projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_b.png',
        file_size => 91, content_type => 'image/png', sha256 => repeat('b', 64), width => 10, height => 8)).storage_path,
    'projects/00000000-0000-4000-8000-0000000000d1/scenes/c1_a.png',
    'completing a stored job again returns the same row (the caller deletes its surplus object)');
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
SELECT results_eq(
    $$SELECT status, attempts, locked_by, last_error_sqlstate FROM public.fail_scene_image_job((pg_temp.job('e1')).id, 'w1', 'SII01', 'late')$$,
    $$VALUES ('running'::text, 2, 'w3'::text, NULL::text)$$,
    'a report from the worker whose lease expired changes nothing: the job is w3''s now');
CALL pg_temp.expire_lease('e2');
SELECT results_eq($$SELECT scene_id, attempts FROM public.claim_scene_image_jobs(worker => 'w4')$$,
    $$VALUES ('e2'::text, 3)$$, 'the last attempt is claimed like the others');
CALL pg_temp.expire_lease('e2');
SELECT is_empty($$SELECT * FROM public.claim_scene_image_jobs(worker => 'w5')$$,
    'a job whose lease expired on its last attempt is not claimed again');
SELECT results_eq($$SELECT status, attempts, last_error_sqlstate, lease_expires_at FROM pg_temp.job('e2')$$,
    $$VALUES ('failed'::text, 3, 'SIJ03'::text, NULL::timestamptz)$$, 'it failed with SIJ03 instead');
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

SELECT * FROM finish();
ROLLBACK;
