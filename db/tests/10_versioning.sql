-- Versioning, rollback, masterJSON sync and the check constraints, on rows inserted directly.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(38);

INSERT INTO public.projects (id, name, master_json) VALUES
    ('00000000-0000-4000-8000-000000000001', 'versioning',
     '{"title": "Trailer", "scenes": {"s1": {"scene_frame_prompt": "a red fox", "duration": 4}}}');

CREATE FUNCTION pg_temp.add_image(scene text, client_version integer DEFAULT 1, url text DEFAULT NULL)
RETURNS public.scene_images LANGUAGE sql AS $$
    INSERT INTO public.scene_images (project_id, scene_id, storage_path, storage_url, file_size, sha256, width, height, version)
    VALUES ('00000000-0000-4000-8000-000000000001', scene, 'projects/p/scenes/' || scene || '.jpg',
            coalesce(url, 'http://127.0.0.1/' || scene || '/' || gen_random_uuid()), 10, repeat('a', 64), 4, 3, client_version)
    RETURNING *
$$;

-- Versions 1, 2, 3 whatever the client passes; one current row.
SELECT is((pg_temp.add_image('s1', 7)).version, 1, 'the first image of a scene is version 1 (client passed 7)');
SELECT is((pg_temp.add_image('s1', 1)).version, 2, 'the second is version 2 (client passed 1)');
SELECT is((pg_temp.add_image('s1', 99)).version, 3, 'the third is version 3 (client passed 99)');
SELECT is((pg_temp.add_image('s2')).version, 1, 'another scene starts at version 1');
SELECT results_eq(
    $$SELECT version, is_current FROM public.scene_images WHERE project_id = '00000000-0000-4000-8000-000000000001' AND scene_id = 's1' ORDER BY version$$,
    $$VALUES (1, false), (2, false), (3, true)$$,
    'only the newest version of s1 is current');
SELECT is((SELECT count(*)::int FROM public.current_scene_images
           WHERE project_id = '00000000-0000-4000-8000-000000000001'), 2,
    'current_scene_images has one row per scene');
SELECT is(public.get_scene_image_url('00000000-0000-4000-8000-000000000001', 's1'),
    (SELECT storage_url FROM public.scene_images WHERE project_id = '00000000-0000-4000-8000-000000000001' AND scene_id = 's1' AND version = 3),
    'get_scene_image_url returns the current version''s URL');
SELECT is(public.get_scene_image_url('00000000-0000-4000-8000-000000000001', 'nope'), NULL,
    'get_scene_image_url is NULL for a scene without images');
SELECT is(public.get_scene_image_url(gen_random_uuid(), 's1'), NULL,
    'get_scene_image_url is NULL for an unknown project');
SELECT throws_ok(
    $$UPDATE public.scene_images SET is_current = true WHERE project_id = '00000000-0000-4000-8000-000000000001' AND scene_id = 's1' AND version = 1$$,
    '23505', NULL, 'a second current row for a scene is refused by the partial unique index');
SELECT throws_ok(
    $$UPDATE public.scene_images SET version = 2 WHERE project_id = '00000000-0000-4000-8000-000000000001' AND scene_id = 's1' AND version = 3$$,
    '23505', NULL, 'a duplicate (project, scene, version) is refused');

-- masterJSON follows at commit; SET CONSTRAINTS fires the deferred sync now.
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(
    (SELECT master_json #>> '{scenes,s1,scene_start_frame}' FROM public.projects WHERE id = '00000000-0000-4000-8000-000000000001'),
    public.get_scene_image_url('00000000-0000-4000-8000-000000000001', 's1'),
    'masterJSON scene_start_frame of s1 is the current URL');
SELECT is(
    (SELECT master_json #>> '{scenes,s2,scene_start_frame}' FROM public.projects WHERE id = '00000000-0000-4000-8000-000000000001'),
    public.get_scene_image_url('00000000-0000-4000-8000-000000000001', 's2'),
    'masterJSON gains an entry for a new scene');
SELECT is(
    (SELECT master_json - 'scenes'::text FROM public.projects WHERE id = '00000000-0000-4000-8000-000000000001'),
    '{"title": "Trailer"}'::jsonb, 'other top-level keys of masterJSON are kept');
SELECT is(
    (SELECT (master_json -> 'scenes' -> 's1') - 'scene_start_frame'::text FROM public.projects WHERE id = '00000000-0000-4000-8000-000000000001'),
    '{"scene_frame_prompt": "a red fox", "duration": 4}'::jsonb, 'other keys of the scene are kept');

-- Rollback and roll forward.
SELECT is((public.set_current_scene_image('00000000-0000-4000-8000-000000000001', 's1', 1)).version, 1,
    'set_current_scene_image returns the version it made current');
SELECT results_eq(
    $$SELECT version FROM public.scene_images WHERE project_id = '00000000-0000-4000-8000-000000000001' AND scene_id = 's1' AND is_current$$,
    ARRAY[1], 'after rollback version 1 is the only current one');
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SELECT is(
    (SELECT master_json #>> '{scenes,s1,scene_start_frame}' FROM public.projects WHERE id = '00000000-0000-4000-8000-000000000001'),
    (SELECT storage_url FROM public.scene_images WHERE project_id = '00000000-0000-4000-8000-000000000001' AND scene_id = 's1' AND version = 1),
    'masterJSON follows the rollback');
SELECT is((public.set_current_scene_image('00000000-0000-4000-8000-000000000001', 's1', 1)).is_current, true,
    'making the current version current again is a no-op');
SELECT is((pg_temp.add_image('s1')).version, 4, 'a new image after a rollback gets max + 1');
SELECT is((public.set_current_scene_image('00000000-0000-4000-8000-000000000001', 's1', 3)).version, 3,
    'roll forward to version 3');
SELECT throws_ok(
    $$SELECT public.set_current_scene_image('00000000-0000-4000-8000-000000000001', 's1', 42)$$,
    'SIV01', 'scene s1 of project 00000000-0000-4000-8000-000000000001 has no version 42',
    'a missing version is refused with SIV01');
SELECT throws_ok(
    $$SELECT public.set_current_scene_image(gen_random_uuid(), 's1', 1)$$,
    'SIP01', NULL, 'an unknown project is refused with SIP01');
SELECT throws_ok(
    $$SELECT public.set_current_scene_image(NULL, 's1', 1)$$,
    '22004', NULL, 'a NULL project is refused with 22004');
SELECT throws_ok(
    $$SELECT public.set_current_scene_image('00000000-0000-4000-8000-000000000001', 's1', NULL)$$,
    '22004', NULL, 'a NULL version is refused with 22004');

-- masterJSON whose scenes is not an object is refused, not overwritten.
INSERT INTO public.projects (id, master_json) VALUES ('00000000-0000-4000-8000-000000000002', '{"scenes": ["keep me"]}');
INSERT INTO public.scene_images (project_id, scene_id, storage_path, storage_url, file_size, sha256, width, height)
VALUES ('00000000-0000-4000-8000-000000000002', 's1', 'p/x.jpg', 'http://127.0.0.1/x', 1, repeat('b', 64), 1, 1);
SELECT throws_ok($$SET CONSTRAINTS ALL IMMEDIATE$$, '22023', NULL,
    'a masterJSON whose scenes is an array is refused at commit');
DELETE FROM public.scene_images WHERE project_id = '00000000-0000-4000-8000-000000000002';

-- Every check constraint refuses a bad row with 23514.
CREATE FUNCTION pg_temp.bad_row(col text, val text) RETURNS text LANGUAGE sql AS $$
    SELECT format(
        'INSERT INTO public.scene_images (project_id, scene_id, storage_path, storage_url, file_size, content_type, provider, fal_metadata, sha256, width, height) '
        'SELECT %L, s, p, u, f::bigint, c, pr, m::jsonb, h, w::int, ht::int FROM (SELECT %s) AS v',
        '00000000-0000-4000-8000-000000000001',
        (SELECT string_agg(format('%L AS %I', CASE WHEN k = col THEN val ELSE d END, k), ', ')
         FROM (VALUES ('s', 'ok'), ('p', 'a/b.jpg'), ('u', 'http://127.0.0.1/a'), ('f', '1'), ('c', 'image/png'),
                      ('pr', 'fal_ai_flux'), ('m', '{}'), ('h', repeat('c', 64)), ('w', '1'), ('ht', '1')) AS defaults(k, d)))
$$;
SELECT lives_ok(pg_temp.bad_row('s', 'ok'), 'the template row itself is valid');
SELECT throws_ok(pg_temp.bad_row('s', ''), '23514', NULL, 'an empty scene_id is refused');
SELECT throws_ok(pg_temp.bad_row('s', repeat('x', 129)), '23514', NULL, 'a scene_id over 128 characters is refused');
SELECT throws_ok(pg_temp.bad_row('s', '../x'), '23514', NULL, 'a path-traversal scene_id is refused');
SELECT throws_ok(pg_temp.bad_row('p', '/etc/passwd'), '23514', NULL, 'an absolute storage_path is refused');
SELECT throws_ok(pg_temp.bad_row('p', 'a/../../b.jpg'), '23514', NULL, 'a storage_path with .. is refused');
SELECT throws_ok(pg_temp.bad_row('f', '-1'), '23514', NULL, 'a negative file_size is refused');
SELECT throws_ok(pg_temp.bad_row('c', 'text/html'), '23514', NULL, 'a non-image content_type is refused');
SELECT throws_ok(pg_temp.bad_row('m', '[1]'), '23514', NULL, 'fal_metadata that is not an object is refused');
SELECT throws_ok(pg_temp.bad_row('h', 'xyz'), '23514', NULL, 'a sha256 that is not 64 hex is refused');
SELECT throws_ok(pg_temp.bad_row('w', '0'), '23514', NULL, 'a zero width is refused');
SELECT throws_ok(
    $$UPDATE public.scene_images SET version = 0 WHERE project_id = '00000000-0000-4000-8000-000000000001' AND scene_id = 's2'$$, '23514', NULL, 'version 0 is refused');

SELECT * FROM finish();
ROLLBACK;
