-- The limits (configure_scene_image_limits): defaults, who may set them, refusals of bad settings,
-- and each limit refused with 54000 before any traffic. The source URLs point at 127.0.0.1:9 while
-- private networks are refused, so a request that passes every limit ends in SIU03 without a
-- connection: SIU03 below means "the limits let it through".
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
DO $$ BEGIN PERFORM public.configure_scene_image_fetch('{"allowed_hosts": [], "allow_private_networks": false}'); END $$;
-- The defaults, whatever an earlier run left (this transaction rolls back).
UPDATE scene_images_internal.settings SET value = '{"prompt_max_bytes": 65536, "metadata_max_bytes": 262144,
    "metadata_max_depth": 32, "pending_jobs_per_project": 10000, "bulk_deadline_s": 300, "bulk_max_bytes_held": 134217728}'
WHERE name = 'limits';
SELECT plan(48);

-- Shape and access.
SELECT has_function('public', 'configure_scene_image_limits', ARRAY['jsonb'], 'configure_scene_image_limits exists');
SELECT function_returns('public', 'configure_scene_image_limits', ARRAY['jsonb'], 'jsonb', 'it returns the effective limits');
SELECT isnt_definer('public', 'configure_scene_image_limits', ARRAY['jsonb'], 'it runs as the caller (the owner)');
SELECT is((SELECT proargnames FROM pg_proc WHERE oid = 'public.configure_scene_image_limits(jsonb)'::regprocedure),
    ARRAY['settings'], 'its parameter name is the RPC contract');
SELECT function_privs_are('public', 'configure_scene_image_limits', ARRAY['jsonb'], 'anon', '{}', 'anon cannot set limits');
SELECT function_privs_are('public', 'configure_scene_image_limits', ARRAY['jsonb'], 'authenticated', '{}', 'authenticated cannot set limits');
SELECT function_privs_are('public', 'configure_scene_image_limits', ARRAY['jsonb'], 'service_role', '{}', 'service_role cannot set limits');
SELECT function_privs_are('public', 'configure_scene_image_limits', ARRAY['jsonb'], 'scene_images_worker', '{}', 'the worker cannot set limits');
SELECT matches(obj_description('public.configure_scene_image_limits(jsonb)'::regprocedure, 'pg_proc'),
    'Arguments: .*Result: .*Errors: 22023', 'its comment names arguments, result and errors');
SELECT table_privs_are('scene_images_internal', 'project_queue_locks', 'authenticated', '{}',
    'no client can touch (or lock) a project''s queue row');

-- Defaults; keys not given keep their value.
SELECT is(public.configure_scene_image_limits('{}'),
    '{"prompt_max_bytes": 65536, "metadata_max_bytes": 262144, "metadata_max_depth": 32,
      "pending_jobs_per_project": 10000, "bulk_deadline_s": 300, "bulk_max_bytes_held": 134217728}'::jsonb,
    'the defaults: 64 KiB prompt, 256 KiB metadata, 32 levels, 10000 pending jobs, 300 s, 128 MiB');
SELECT is(public.configure_scene_image_limits('{"bulk_deadline_s": 2.5}') -> 'bulk_deadline_s', '2.5'::jsonb,
    'bulk_deadline_s takes fractions of a second');
SELECT is(public.configure_scene_image_limits('{"bulk_deadline_s": 300}') ->> 'prompt_max_bytes', '65536',
    'a change keeps the other limits');

-- Bad settings: 22023 naming the key, nothing changed.
SELECT throws_ok($$SELECT public.configure_scene_image_limits(NULL)$$, '22023', 'limits settings must be a JSON object',
    'NULL settings are refused');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('[]')$$, '22023', 'limits settings must be a JSON object',
    'settings that are not an object are refused');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('{"prompt_max_byte": 1}')$$, '22023',
    'unknown limits setting ''prompt_max_byte''', 'an unknown key is refused, named');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('{"prompt_max_bytes": "65536"}')$$, '22023',
    'prompt_max_bytes must be a number, not string', 'a string value is refused, the key named');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('{"metadata_max_bytes": 0}')$$, '22023',
    'metadata_max_bytes must be a whole number from 1 to 9007199254740991, not 0', 'zero is refused, the key named');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('{"metadata_max_depth": 1.5}')$$, '22023',
    'metadata_max_depth must be a whole number from 1 to 9007199254740991, not 1.5', 'a fraction is refused for a count');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('{"pending_jobs_per_project": -1}')$$, '22023', NULL,
    'a negative count is refused');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('{"bulk_max_bytes_held": 1e300}')$$, '22023', NULL,
    'a count past 2^53 is refused');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('{"bulk_deadline_s": 0}')$$, '22023',
    'bulk_deadline_s must be a number of seconds above 0 and at most 86400, not 0', 'a zero deadline is refused');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('{"bulk_deadline_s": null}')$$, '22023',
    'bulk_deadline_s must be a number, not null', 'a null deadline is refused');
SELECT throws_ok($$SELECT public.configure_scene_image_limits('{"prompt_max_bytes": 10, "bulk_deadline_s": -1}')$$, '22023', NULL,
    'one bad key refuses the whole change');
SELECT is((SELECT value ->> 'prompt_max_bytes' FROM scene_images_internal.settings WHERE name = 'limits'), '65536',
    'a refused change changed nothing');

INSERT INTO public.projects (id, name) VALUES ('00000000-0000-4000-8000-0000000000c1', 'limits');

-- Prompt size (octet_length: multibyte characters count by their bytes).
SELECT throws_ok(format($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', prompt => %L)$$,
        repeat('x', 65537)),
    '54000', 'LimitExceeded: prompt is 65537 bytes; prompt_max_bytes allows 65536', 'a prompt over 64 KiB is refused');
SELECT throws_ok(format($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', prompt => %L)$$,
        repeat('é', 32769)),
    '54000', 'LimitExceeded: prompt is 65538 bytes; prompt_max_bytes allows 65536', 'a prompt is measured in bytes, not characters');
SELECT throws_ok(format($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', prompt => %L)$$,
        repeat('x', 65536)),
    'SIU03', NULL, 'a prompt of exactly 64 KiB passes the limit');

-- Metadata size (its JSON text) and depth.
SELECT throws_ok(format($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', metadata => %L)$$,
        jsonb_build_object('note', repeat('x', 262144))),
    '54000', 'LimitExceeded: metadata is 262156 bytes as JSON text; metadata_max_bytes allows 262144', 'metadata over 256 KiB is refused');
SELECT throws_ok(format($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', metadata => %L)$$,
        repeat('{"a": ', 32) || '1' || repeat('}', 32)),
    'SIU03', NULL, 'metadata 32 levels deep passes the limit');
SELECT throws_ok(format($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', metadata => %L)$$,
        repeat('{"a": ', 32) || '[]' || repeat('}', 32)),
    '54000', 'LimitExceeded: metadata is nested more than 32 levels deep; metadata_max_depth allows 32',
    'metadata 33 levels deep is refused (an array counts as a level)');
SELECT throws_ok(format($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', metadata => %L)$$,
        repeat('{"a": [', 1000) || repeat(']}', 1000)),
    '54000', NULL, 'metadata 2000 levels deep is refused with 54000, not a recursion error');
SELECT is(scene_images_internal.jsonb_deeper_than('{"a": [1, {"b": 2}], "c": {}}', 2), true,
    'depth: an object in an array in an object is 3 levels');
SELECT is(scene_images_internal.jsonb_deeper_than('{"a": [1, {"b": 2}], "c": {}}', 3), false, 'and not 4');

-- The same limits on the bulk and queue entry points, item named.
SELECT throws_ok(format($$SELECT * FROM public.store_scene_images('00000000-0000-4000-8000-0000000000c1', %L)$$,
        jsonb_build_array(jsonb_build_object('scene_id', 's1', 'source_url', 'http://127.0.0.1:9/a.png'),
                          jsonb_build_object('scene_id', 's2', 'source_url', 'http://127.0.0.1:9/a.png', 'prompt', repeat('x', 65537)))),
    '54000', 'LimitExceeded: requests[1] (scene_id s2): prompt is 65537 bytes; prompt_max_bytes allows 65536',
    'a bulk item''s prompt over the limit fails the call, named');
SELECT throws_ok(format($$SELECT * FROM public.store_scene_images('00000000-0000-4000-8000-0000000000c1', %L)$$,
        jsonb_build_array(jsonb_build_object('scene_id', 's1', 'source_url', 'http://127.0.0.1:9/a.png',
                                             'metadata', (repeat('{"a": ', 40) || '1' || repeat('}', 40))::jsonb))),
    '54000', NULL, 'a bulk item''s deep metadata fails the call');
SELECT throws_ok(
    $$SELECT * FROM public.store_scene_images('00000000-0000-4000-8000-0000000000c1',
        (SELECT jsonb_agg(jsonb_build_object('scene_id', 's' || i, 'source_url', 'http://127.0.0.1:9/a.png')) FROM generate_series(1, 201) AS i))$$,
    '54000', 'LimitExceeded: requests holds 201 items; at most 200 per call', 'more than 200 bulk items is a count limit (54000)');
SELECT throws_ok(format($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', metadata => %L)$$,
        jsonb_build_object('note', repeat('x', 262144))),
    '54000', 'metadata is 262156 bytes as JSON text; metadata_max_bytes allows 262144', 'enqueue refuses oversized metadata');
SELECT throws_ok(format($$SELECT public.enqueue_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', prompt => %L)$$,
        repeat('x', 65537)),
    '54000', NULL, 'enqueue refuses an oversized prompt');

-- Lowered by the owner, the limits follow at once.
SELECT lives_ok($$SELECT public.configure_scene_image_limits('{"prompt_max_bytes": 10, "metadata_max_depth": 2}')$$, 'the owner lowers limits');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', prompt => 'eleven byte')$$,
    '54000', 'LimitExceeded: prompt is 11 bytes; prompt_max_bytes allows 10', 'a lowered prompt limit applies');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000c1', 's1', 'http://127.0.0.1:9/a.png', metadata => '{"a": {"b": {}}}')$$,
    '54000', NULL, 'a lowered depth limit applies');

-- Pending jobs per project: queued + running + the new ones within the cap, all or none queued.
SELECT lives_ok($$SELECT public.configure_scene_image_limits('{"pending_jobs_per_project": 3}')$$, 'the owner sets the cap to 3');
SELECT is((SELECT count(*)::int FROM public.enqueue_scene_images('00000000-0000-4000-8000-0000000000c1',
        '[{"scene_id": "q1", "source_url": "http://127.0.0.1:9/a.png"}, {"scene_id": "q2", "source_url": "http://127.0.0.1:9/a.png"}]')),
    2, 'two jobs fit under a cap of 3');
SELECT throws_ok($$SELECT * FROM public.enqueue_scene_images('00000000-0000-4000-8000-0000000000c1',
        '[{"scene_id": "q3", "source_url": "http://127.0.0.1:9/a.png"}, {"scene_id": "q4", "source_url": "http://127.0.0.1:9/a.png"}]')$$,
    '54000', 'the project has 2 queued or running jobs; 2 more would pass pending_jobs_per_project, which allows 3',
    'two more would pass the cap: refused');
UPDATE scene_images_internal.scene_image_jobs SET status = 'running', lease_expires_at = now() + interval '1 minute'
WHERE project_id = '00000000-0000-4000-8000-0000000000c1' AND scene_id = 'q1';
INSERT INTO scene_images_internal.scene_image_jobs (project_id, scene_id, source_url, provider, metadata, status, max_attempts)
VALUES ('00000000-0000-4000-8000-0000000000c1', 'f1', 'http://127.0.0.1:9/a.png', 'test', '{}', 'failed', 1),
       ('00000000-0000-4000-8000-0000000000c1', 'f2', 'http://127.0.0.1:9/a.png', 'test', '{}', 'failed', 1);
SELECT lives_ok($$SELECT public.retry_scene_image_job((SELECT id FROM scene_images_internal.scene_image_jobs WHERE scene_id = 'f1'
        AND project_id = '00000000-0000-4000-8000-0000000000c1'))$$,
    'a retry fills the last place (running jobs count, failed ones do not)');
SELECT throws_ok($$SELECT public.retry_scene_image_job((SELECT id FROM scene_images_internal.scene_image_jobs WHERE scene_id = 'f2'
        AND project_id = '00000000-0000-4000-8000-0000000000c1'))$$,
    '54000', NULL, 'a retry past the cap is refused');
SELECT results_eq($$SELECT scene_id, status FROM scene_images_internal.scene_image_jobs
        WHERE project_id = '00000000-0000-4000-8000-0000000000c1' ORDER BY scene_id$$,
    $$VALUES ('f1'::text, 'queued'::text), ('f2', 'failed'), ('q1', 'running'), ('q2', 'queued')$$,
    'refused enqueues and retries queued nothing');

SELECT * FROM finish();
ROLLBACK;
