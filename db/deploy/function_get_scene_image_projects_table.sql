-- Deploy scene-images:function_get_scene_image_projects_table to pg
-- requires: table_projects
-- requires: schema_private
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE FUNCTION scene_images_private.get_scene_image_projects_table()
RETURNS jsonb
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT s.value - 'created_by_us' FROM scene_images_internal.settings AS s WHERE s.name = 'projects'
$$;

COMMENT ON FUNCTION scene_images_private.get_scene_image_projects_table() IS
    'The definer side of public.get_scene_image_projects_table: reads the deploy''s projects setting.';

-- Clients that write projects themselves (the Python client's create_project) need the names.
CREATE FUNCTION public.get_scene_image_projects_table()
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT scene_images_private.get_scene_image_projects_table()
$$;

COMMENT ON FUNCTION public.get_scene_image_projects_table() IS
    'Which table holds the projects and what its columns are called, as the deploy was told (projects_table, '
    'master_json_column, owner_column, name_column). Result: {"table", "master_json_column", "owner_column", '
    '"name_column"}. Errors: none.';

CALL scene_images_internal.revoke_all_grants('scene_images_private.get_scene_image_projects_table()'::regprocedure);
CALL scene_images_internal.revoke_all_grants('public.get_scene_image_projects_table()'::regprocedure);
GRANT EXECUTE ON FUNCTION scene_images_private.get_scene_image_projects_table() TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.get_scene_image_projects_table() TO authenticated, service_role;

COMMIT;
