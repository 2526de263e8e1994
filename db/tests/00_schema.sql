-- Structure of the schema: tables, columns, types, defaults, constraints, indexes, view, functions, trigger.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(62);

SELECT has_schema('scene_images_internal', 'the internal schema exists');
SELECT has_table('public', 'projects', 'projects exists');
SELECT has_table('public', 'scene_images', 'scene_images exists');
SELECT has_view('public', 'current_scene_images', 'current_scene_images exists');

SELECT columns_are('public', 'projects', ARRAY['id', 'name', 'master_json', 'owner_id', 'created_at'], 'projects has exactly its columns');
SELECT col_type_is('public', 'projects', 'id', 'uuid', 'projects.id is uuid');
SELECT col_is_pk('public', 'projects', 'id', 'projects.id is the primary key');
SELECT col_default_is('public', 'projects', 'id', 'gen_random_uuid()', 'projects.id defaults to gen_random_uuid()');
SELECT col_type_is('public', 'projects', 'master_json', 'jsonb', 'projects.master_json is jsonb');
SELECT col_not_null('public', 'projects', 'master_json', 'projects.master_json is not null');
SELECT col_default_is('public', 'projects', 'master_json', '{}'::jsonb, 'projects.master_json defaults to {}');
SELECT col_type_is('public', 'projects', 'created_at', 'timestamp with time zone', 'projects.created_at is timestamptz');
SELECT col_default_is('public', 'projects', 'owner_id', 'request_uid()', 'projects.owner_id defaults to the caller');

SELECT columns_are('public', 'scene_images', ARRAY[
    'id', 'project_id', 'scene_id', 'storage_path', 'storage_url', 'file_size', 'content_type', 'generated_at',
    'provider', 'generation_prompt', 'original_fal_url', 'fal_metadata', 'version', 'is_current',
    'sha256', 'width', 'height'], 'scene_images has exactly its columns');
SELECT col_type_is('public', 'scene_images', 'id', 'uuid', 'id is uuid');
SELECT col_is_pk('public', 'scene_images', 'id', 'id is the primary key');
SELECT col_type_is('public', 'scene_images', 'project_id', 'uuid', 'project_id is uuid');
SELECT fk_ok('public', 'scene_images', 'project_id', 'public', 'projects', 'id', 'project_id references projects');
SELECT col_type_is('public', 'scene_images', 'scene_id', 'text', 'scene_id is text');
SELECT col_not_null('public', 'scene_images', 'scene_id', 'scene_id is not null');
SELECT col_type_is('public', 'scene_images', 'storage_path', 'text', 'storage_path is text');
SELECT col_type_is('public', 'scene_images', 'storage_url', 'text', 'storage_url is text');
SELECT col_type_is('public', 'scene_images', 'file_size', 'bigint', 'file_size is bigint');
SELECT col_default_is('public', 'scene_images', 'content_type', 'image/jpeg', 'content_type defaults to image/jpeg');
SELECT col_type_is('public', 'scene_images', 'generated_at', 'timestamp with time zone', 'generated_at is timestamptz');
SELECT col_default_is('public', 'scene_images', 'generated_at', 'now()', 'generated_at defaults to now()');
SELECT col_default_is('public', 'scene_images', 'provider', 'fal_ai_flux', 'provider defaults to fal_ai_flux');
SELECT col_type_is('public', 'scene_images', 'generation_prompt', 'text', 'generation_prompt is text');
SELECT col_type_is('public', 'scene_images', 'original_fal_url', 'text', 'original_fal_url is text');
SELECT col_type_is('public', 'scene_images', 'fal_metadata', 'jsonb', 'fal_metadata is jsonb');
SELECT col_type_is('public', 'scene_images', 'version', 'integer', 'version is integer');
SELECT col_default_is('public', 'scene_images', 'version', '1', 'version defaults to 1');
SELECT col_type_is('public', 'scene_images', 'is_current', 'boolean', 'is_current is boolean');
SELECT col_default_is('public', 'scene_images', 'is_current', 'true', 'is_current defaults to true');
SELECT col_type_is('public', 'scene_images', 'sha256', 'text', 'sha256 is text');
SELECT col_type_is('public', 'scene_images', 'width', 'integer', 'width is integer');
SELECT col_type_is('public', 'scene_images', 'height', 'integer', 'height is integer');

SELECT col_is_unique('public', 'scene_images', ARRAY['project_id', 'scene_id', 'version'], 'unique (project_id, scene_id, version)');
SELECT has_index('public', 'scene_images', 'scene_images_one_current_idx', ARRAY['project_id', 'scene_id'], 'the one-current index exists');
SELECT index_is_unique('public', 'scene_images', 'scene_images_one_current_idx', 'the one-current index is unique');
SELECT is(
    (SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'scene_images_one_current_idx'::regclass),
    'is_current', 'the one-current index is partial on is_current');
SELECT bag_eq(
    $$SELECT conname::text FROM pg_constraint WHERE conrelid = 'public.scene_images'::regclass AND contype = 'c'$$,
    ARRAY['scene_images_scene_id_format', 'scene_images_storage_path_relative', 'scene_images_storage_url_absolute',
          'scene_images_file_size_nonnegative', 'scene_images_content_type_image', 'scene_images_provider_length',
          'scene_images_fal_metadata_object', 'scene_images_version_positive', 'scene_images_sha256_hex',
          'scene_images_width_positive', 'scene_images_height_positive'],
    'scene_images has its check constraints');

SELECT has_trigger('public', 'scene_images', 'scene_images_versioning', 'the versioning trigger exists');
SELECT trigger_is('public', 'scene_images', 'scene_images_versioning', 'scene_images_internal', 'assign_scene_image_version',
    'the versioning trigger calls assign_scene_image_version');
SELECT has_trigger('public', 'scene_images', 'scene_images_master_json_sync', 'the masterJSON sync trigger exists');
SELECT ok((SELECT tginitdeferred FROM pg_trigger WHERE tgname = 'scene_images_master_json_sync'),
    'the masterJSON sync runs at commit');

SELECT has_function('public', 'get_scene_image_url', ARRAY['uuid', 'text'], 'get_scene_image_url(uuid, text) exists');
SELECT function_returns('public', 'get_scene_image_url', ARRAY['uuid', 'text'], 'text', 'get_scene_image_url returns text');
SELECT volatility_is('public', 'get_scene_image_url', ARRAY['uuid', 'text'], 'stable', 'get_scene_image_url is stable');
SELECT has_function('public', 'set_current_scene_image', ARRAY['uuid', 'text', 'integer'], 'set_current_scene_image exists');
SELECT function_returns('public', 'set_current_scene_image', ARRAY['uuid', 'text', 'integer'], 'scene_images',
    'set_current_scene_image returns a scene_images row');
SELECT isnt_definer('public', 'set_current_scene_image', ARRAY['uuid', 'text', 'integer'], 'set_current_scene_image runs as the caller');
SELECT has_function('public', 'get_scene_image_history', ARRAY['uuid', 'text'], 'get_scene_image_history exists');
SELECT function_returns('public', 'get_scene_image_history', ARRAY['uuid', 'text'], 'setof scene_images',
    'get_scene_image_history returns scene_images rows');

-- Every public object carries a COMMENT.
SELECT is(
    (SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
       AND obj_description(c.oid, 'pg_class') IS NULL),
    NULL, 'every public table and view has a comment');
SELECT is(
    (SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
     WHERE p.pronamespace IN ('public'::regnamespace, 'scene_images_internal'::regnamespace)
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
       AND obj_description(p.oid, 'pg_proc') IS NULL),
    NULL, 'every function of ours has a comment');

-- The lookup is served by the one-current index (seqscan off: small test tables would not need it).
CREATE FUNCTION pg_temp.plan_text(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; result text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN ' || query LOOP result := result || line || E'\n'; END LOOP;
    RETURN result;
END $$;
SET LOCAL enable_seqscan = off;
SELECT matches(
    pg_temp.plan_text($$SELECT storage_url FROM public.scene_images
                       WHERE project_id = gen_random_uuid() AND scene_id = 's1' AND is_current$$),
    'scene_images_one_current_idx', 'current-image lookups use the one-current index');
RESET enable_seqscan;

SELECT has_role('anon', 'anon exists');
SELECT has_role('authenticated', 'authenticated exists');
SELECT has_role('service_role', 'service_role exists');
SELECT schema_privs_are('scene_images_internal', 'authenticated', ARRAY[]::text[], 'authenticated cannot use the internal schema');
SELECT schema_privs_are('scene_images_internal', 'anon', ARRAY[]::text[], 'anon cannot use the internal schema');

SELECT * FROM finish();
ROLLBACK;
