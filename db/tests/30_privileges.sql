-- Who may do what: EXECUTE grants per role, row-level security, secrets out of reach.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
-- The default fetch policy (other test runs may have changed the database's): private networks refused.
DO $$ BEGIN PERFORM public.configure_scene_image_fetch('{"allowed_hosts": [], "allow_private_networks": false}'); END $$;
SELECT plan(35);

-- Grants per role for every public function of ours.
SELECT CASE WHEN to_regprocedure('public.store_scene_image(uuid, text, text, text, text, jsonb)') IS NULL
    THEN skip('needs PL/Python, which a hosted install (@portable) lacks', 1)
    ELSE function_privs_are('public', 'store_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb'], 'anon', '{}', 'anon cannot store') END;
SELECT CASE WHEN to_regprocedure('public.store_scene_image(uuid, text, text, text, text, jsonb)') IS NULL
    THEN skip('needs PL/Python, which a hosted install (@portable) lacks', 1)
    ELSE function_privs_are('public', 'store_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb'], 'authenticated', ARRAY['EXECUTE'], 'authenticated may store') END;
SELECT CASE WHEN to_regprocedure('public.store_scene_image(uuid, text, text, text, text, jsonb)') IS NULL
    THEN skip('needs PL/Python, which a hosted install (@portable) lacks', 1)
    ELSE function_privs_are('public', 'store_scene_image', ARRAY['uuid', 'text', 'text', 'text', 'text', 'jsonb'], 'service_role', ARRAY['EXECUTE'], 'service_role may store') END;
SELECT CASE WHEN to_regprocedure('public.store_scene_images(uuid, jsonb)') IS NULL
    THEN skip('needs PL/Python, which a hosted install (@portable) lacks', 1)
    ELSE function_privs_are('public', 'store_scene_images', ARRAY['uuid', 'jsonb'], 'anon', '{}', 'anon cannot bulk store') END;
SELECT CASE WHEN to_regprocedure('public.store_scene_images(uuid, jsonb)') IS NULL
    THEN skip('needs PL/Python, which a hosted install (@portable) lacks', 1)
    ELSE function_privs_are('public', 'store_scene_images', ARRAY['uuid', 'jsonb'], 'authenticated', ARRAY['EXECUTE'], 'authenticated may bulk store') END;
SELECT function_privs_are('public', 'set_current_scene_image', ARRAY['uuid', 'text', 'integer'], 'anon', '{}', 'anon cannot roll back');
SELECT function_privs_are('public', 'set_current_scene_image', ARRAY['uuid', 'text', 'integer'], 'authenticated', ARRAY['EXECUTE'], 'authenticated may roll back');
SELECT function_privs_are('public', 'get_scene_image_url', ARRAY['uuid', 'text'], 'anon', '{}', 'anon cannot look up URLs');
SELECT function_privs_are('public', 'get_scene_image_url', ARRAY['uuid', 'text'], 'authenticated', ARRAY['EXECUTE'], 'authenticated may look up URLs');
SELECT function_privs_are('public', 'get_scene_image_history', ARRAY['uuid', 'text'], 'anon', '{}', 'anon cannot read history');
SELECT function_privs_are('public', 'configure_scene_image_storage', ARRAY['text', 'jsonb'], 'authenticated', '{}', 'authenticated cannot configure storage');
SELECT function_privs_are('public', 'configure_scene_image_storage', ARRAY['text', 'jsonb'], 'service_role', '{}', 'service_role cannot configure storage');
SELECT function_privs_are('public', 'configure_scene_image_fetch', ARRAY['jsonb'], 'service_role', '{}', 'service_role cannot configure fetching');
SELECT function_privs_are('public', 'configure_scene_image_fetch', ARRAY['jsonb'], 'anon', '{}', 'anon cannot configure fetching');

SELECT table_privs_are('public', 'projects', 'anon', '{}', 'anon has no rights on projects');
SELECT table_privs_are('public', 'scene_images', 'anon', '{}', 'anon has no rights on scene_images');
SELECT table_privs_are('public', 'scene_images', 'authenticated', ARRAY['SELECT'], 'authenticated only reads scene_images');
SELECT table_privs_are('scene_images_internal', 'settings', 'service_role', '{}', 'service_role cannot touch settings');
SELECT table_privs_are('scene_images_internal', 'settings', 'authenticated', '{}', 'authenticated cannot touch settings');

SELECT policies_are('public', 'projects', ARRAY['projects_select_authenticated', 'projects_insert_authenticated',
    'projects_update_authenticated', 'projects_delete_authenticated', 'projects_all_service_role'], 'projects has its policies');
SELECT policies_are('public', 'scene_images', ARRAY['scene_images_select_authenticated', 'scene_images_all_service_role'],
    'scene_images has its policies');

-- Two users' projects, each with one image.
INSERT INTO public.projects (id, name, owner_id) VALUES
    ('00000000-0000-4000-8000-0000000000b1', 'alice''s', 'aaaaaaaa-0000-4000-8000-000000000001'),
    ('00000000-0000-4000-8000-0000000000b2', 'bob''s', 'bbbbbbbb-0000-4000-8000-000000000002');
INSERT INTO public.scene_images (project_id, scene_id, storage_path, storage_url, file_size, sha256, width, height)
SELECT id, 's1', 'p/' || id || '.jpg', 'http://127.0.0.1/' || id, 1, repeat('d', 64), 1, 1
FROM public.projects WHERE id IN ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000b2');

-- As alice, through the JWT claims PostgREST sets.
SELECT set_config('request.jwt.claims', '{"sub": "aaaaaaaa-0000-4000-8000-000000000001", "role": "authenticated"}', true);
SET LOCAL ROLE authenticated;
SELECT results_eq($$SELECT name FROM public.projects$$, ARRAY['alice''s'], 'alice sees only her project');
SELECT is((SELECT count(*)::int FROM public.scene_images), 1, 'alice sees only her images');
SELECT is(public.get_scene_image_url('00000000-0000-4000-8000-0000000000b2', 's1'), NULL, 'alice cannot look up bob''s URL');
SELECT isnt(public.get_scene_image_url('00000000-0000-4000-8000-0000000000b1', 's1'), NULL, 'alice can look up her own URL');
SELECT throws_ok($$SELECT public.set_current_scene_image('00000000-0000-4000-8000-0000000000b2', 's1', 1)$$,
    '42501', NULL, 'alice cannot roll back bob''s scene');
SELECT CASE WHEN to_regprocedure('public.store_scene_image(uuid, text, text, text, text, jsonb)') IS NULL
    THEN skip('needs PL/Python, which a hosted install (@portable) lacks', 1)
    ELSE throws_ok($$SELECT public.store_scene_image('00000000-0000-4000-8000-0000000000b2', 's2', 'http://127.0.0.1:9/a.png')$$,
                   '42501', NULL, 'alice cannot store into bob''s project') END;
UPDATE public.projects SET owner_id = 'aaaaaaaa-0000-4000-8000-000000000001' WHERE id = '00000000-0000-4000-8000-0000000000b2';
SELECT throws_ok($$INSERT INTO public.projects (name, owner_id) VALUES ('stolen', 'bbbbbbbb-0000-4000-8000-000000000002')$$,
    '42501', NULL, 'alice cannot create a project owned by bob');
SELECT lives_ok($$INSERT INTO public.projects (name) VALUES ('alice''s second')$$, 'alice creates a project; it is hers by default');
SELECT throws_ok($$SELECT * FROM scene_images_internal.settings$$, '42501', NULL, 'alice cannot read the settings (secrets)');
SELECT throws_ok($$SELECT public.configure_scene_image_fetch('{}')$$, '42501', NULL, 'alice cannot configure');
RESET ROLE;

SELECT is((SELECT owner_id FROM public.projects WHERE id = '00000000-0000-4000-8000-0000000000b2'),
    'bbbbbbbb-0000-4000-8000-000000000002'::uuid, 'alice''s attempt to take over bob''s project changed nothing');

SET LOCAL ROLE anon;
SELECT throws_ok($$SELECT * FROM public.projects$$, '42501', NULL, 'anon reads no projects');
SELECT throws_ok($$SELECT * FROM public.current_scene_images$$, '42501', NULL, 'anon reads no images');
RESET ROLE;

SET LOCAL ROLE service_role;
SELECT is((SELECT count(*)::int FROM public.scene_images
           WHERE project_id IN ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000b2')), 2,
    'service_role sees every project''s images');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
