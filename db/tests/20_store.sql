-- The SQL-visible contract of store_scene_image(s) and configure_*: signatures, refusals before any traffic.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
-- The default fetch policy (other test runs may have changed the database's): private networks refused.
DO $$ BEGIN PERFORM public.configure_scene_image_fetch('{"allowed_hosts": [], "allow_private_networks": false}'); END $$;
SELECT plan(42);

SELECT has_function('public', 'store_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb'], 'store_scene_image exists');
SELECT function_returns('public', 'store_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb'], 'scene_images',
    'store_scene_image returns a scene_images row');
SELECT function_lang_is('scene_images_internal', 'try_store_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb'], 'plpython3u',
    'store_scene_image''s work is PL/Python');
SELECT isnt_definer('public', 'store_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb'],
    'store_scene_image runs as the caller: PostgREST exposes public');
SELECT is(
    (SELECT proargnames FROM pg_proc WHERE oid = 'public.store_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure),
    ARRAY['project_id', 'scene_id', 'source_url', 'prompt', 'provider', 'metadata'],
    'store_scene_image parameter names are the RPC contract');
SELECT is(
    (SELECT pronargdefaults::int FROM pg_proc WHERE oid = 'public.store_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure),
    3, 'prompt, provider and metadata have defaults');
SELECT ok(
    (SELECT prosecdef AND proconfig @> ARRAY['search_path=pg_catalog, scene_images_internal, pg_temp'] FROM pg_proc
     WHERE oid = 'scene_images_private.store_scene_image(uuid, text, text, text, text, jsonb)'::regprocedure),
    'store_scene_image''s definer side has a fixed search_path, pg_temp last');
SELECT has_function('public', 'store_scene_images', ARRAY['uuid', 'jsonb'], 'store_scene_images exists');
SELECT function_returns('public', 'store_scene_images', ARRAY['uuid', 'jsonb'], 'setof scene_images',
    'store_scene_images returns scene_images rows');
SELECT is(
    (SELECT proargnames FROM pg_proc WHERE oid = 'public.store_scene_images(uuid, jsonb)'::regprocedure),
    ARRAY['project_id', 'requests'], 'store_scene_images parameter names are the RPC contract');
SELECT has_function('public', 'configure_scene_image_storage', ARRAY['text', 'jsonb'], 'configure_scene_image_storage exists');
SELECT has_function('public', 'configure_scene_image_fetch', ARRAY['jsonb'], 'configure_scene_image_fetch exists');

INSERT INTO public.projects (id, name) VALUES ('00000000-0000-4000-8000-0000000000a1', 'store contract');

-- Refusals of arguments: each with its SQLSTATE, before any network traffic.
SELECT throws_ok($$SELECT public.store_scene_image(NULL, 's1', 'http://127.0.0.1/a.png')$$,
    '22004', NULL, 'a NULL project_id is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', NULL, 'http://127.0.0.1/a.png')$$,
    '22004', 'NullArgument: scene_id must not be NULL', 'a NULL scene_id is refused, named');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', NULL)$$,
    '22004', 'NullArgument: source_url must not be NULL', 'a NULL source_url is refused, named');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', 'http://127.0.0.1/a.png', metadata => NULL)$$,
    '22004', 'NullArgument: metadata must not be NULL', 'a NULL metadata is refused, named');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000ff', 's1', 'http://127.0.0.1/a.png')$$,
    'SIP01', 'ProjectNotFound: project 00000000-0000-4000-8000-0000000000ff does not exist', 'an unknown project is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', '../x', 'http://127.0.0.1/a.png')$$,
    '22023', NULL, 'a path-traversal scene_id is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 'a/b', 'http://127.0.0.1/a.png')$$,
    '22023', NULL, 'a scene_id with a slash is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', E'a\nb', 'http://127.0.0.1/a.png')$$,
    '22023', NULL, 'a scene_id with a control character is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', '', 'http://127.0.0.1/a.png')$$,
    '22023', NULL, 'an empty scene_id is refused');
SELECT throws_ok(format($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', %L, 'http://127.0.0.1/a.png')$$, repeat('s', 129)),
    '22023', NULL, 'an overlong scene_id is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', 'http://127.0.0.1/a.png', metadata => '[1, 2]')$$,
    '22023', 'InvalidArgument: metadata must be a JSON object, not array', 'metadata that is not an object is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', 'file:///etc/passwd')$$,
    'SIU01', NULL, 'a file:// URL is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', 'gopher://127.0.0.1:70/')$$,
    'SIU01', NULL, 'a gopher:// URL is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', 'data:image/png;base64,AAAA')$$,
    'SIU01', NULL, 'a data: URL is refused');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', 'http://user:hunter2@127.0.0.1/a.png')$$,
    'SIU01', 'InvalidSourceUrl: source URL http://127.0.0.1/a.png carries credentials, which are refused',
    'credentials in the URL are refused and not repeated');
SELECT throws_ok(format($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', %L)$$, 'http://127.0.0.1/' || repeat('a', 2100)),
    'SIU01', NULL, 'an overlong URL is refused');
-- Private networks are refused by default: the loopback address is refused before connecting.
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', 'http://127.0.0.1:9/a.png')$$,
    'SIU03', NULL, 'a loopback source is refused while private networks are not allowed');
SELECT throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000a1', 's1', 'http://2130706433:9/a.png')$$,
    'SIU03', NULL, 'loopback in decimal form is refused');

SELECT throws_ok($$SELECT * FROM public.store_scene_images('00000000-0000-4000-8000-0000000000a1', '[]')$$,
    '22023', 'InvalidArgument: requests must be a non-empty JSON array', 'an empty bulk array is refused');
SELECT throws_ok($$SELECT * FROM public.store_scene_images('00000000-0000-4000-8000-0000000000a1', '{"scene_id": "s1"}')$$,
    '22023', NULL, 'a bulk request that is not an array is refused');
SELECT throws_ok(
    $$SELECT * FROM public.store_scene_images('00000000-0000-4000-8000-0000000000a1',
        (SELECT jsonb_agg(jsonb_build_object('scene_id', 's' || i, 'source_url', 'http://127.0.0.1/a.png')) FROM generate_series(1, 201) AS i))$$,
    '54000', 'LimitExceeded: requests holds 201 items; at most 200 per call', 'a bulk array over the limit is refused');
SELECT throws_ok(
    $$SELECT * FROM public.store_scene_images('00000000-0000-4000-8000-0000000000a1',
        '[{"scene_id": "s1", "source_url": "http://127.0.0.1/a.png"}, {"scene_id": "s1", "source_url": "http://127.0.0.1/b.png"}]')$$,
    '22023', 'InvalidArgument: requests[1] (scene_id s1): the same scene_id appears twice', 'duplicate scene_ids in a bulk array are refused, named');
SELECT throws_ok(
    $$SELECT * FROM public.store_scene_images('00000000-0000-4000-8000-0000000000a1',
        '[{"scene_id": "s1", "source_url": "http://127.0.0.1/a.png"}, {"scene_id": "s2", "source_url": "ftp://127.0.0.1/b.png"}]')$$,
    'SIU01', NULL, 'one bad URL in a bulk array fails the call');
SELECT throws_ok(
    $$SELECT * FROM public.store_scene_images('00000000-0000-4000-8000-0000000000a1', '[{"scene_id": "s1", "url": "http://x/"}]')$$,
    '22023', NULL, 'unknown keys in a bulk item are refused');
SELECT is((SELECT count(*)::int FROM public.scene_images WHERE project_id = '00000000-0000-4000-8000-0000000000a1'), 0,
    'no refused call wrote a row');

-- Configuration refusals.
SELECT throws_ok($$SELECT public.configure_scene_image_storage('ftp', '{}')$$, 'SIS02', NULL, 'an unknown backend is refused');
SELECT throws_ok($$SELECT public.configure_scene_image_storage('s3', '{"bucket": "b"}')$$, 'SIS02', NULL,
    'an s3 backend without its keys is refused');
SELECT throws_ok($$SELECT public.configure_scene_image_fetch('{"max_bytez": 1}')$$, '22023', NULL, 'an unknown fetch setting is refused');
SELECT throws_ok($$SELECT public.configure_scene_image_fetch('{"allow_private_networks": ["not-a-cidr"]}')$$, '22023', NULL,
    'a malformed CIDR is refused');
SELECT is(public.configure_scene_image_fetch('{"max_redirects": 5}') -> 'max_redirects', '5'::jsonb,
    'a fetch setting change is returned in the effective settings');

SELECT * FROM finish();
ROLLBACK;
