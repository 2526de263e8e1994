-- Deploy scene-images:trigger_projects_master_json_kept to pg
-- requires: table_projects
-- requires: table_scene_images
-- requires: procedure_revoke_all_grants

BEGIN;

SELECT value ->> 'table' AS projects_table, value ->> 'master_json_column' AS master_json_column
FROM scene_images_internal.settings WHERE name = 'projects' \gset

-- The app saves masterJSON as a whole document, possibly from a stale copy that still carries a
-- generator's expired URL. Whoever writes, every scene the document has that has a current image
-- leaves with that image's permanent URL; everything else stays as the writer wrote it, and a
-- scene the writer removed stays removed. The column is the trigger's argument (it may be named
-- anything in an adopted table), read and written through the row as JSON.
CREATE FUNCTION scene_images_internal.keep_master_json_true()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    master_json_column text := TG_ARGV[0];
    saved jsonb := pg_catalog.to_jsonb(NEW);
    master jsonb := saved -> master_json_column;
    scenes jsonb := master -> 'scenes';
    kept jsonb;
BEGIN
    IF jsonb_typeof(scenes) IS DISTINCT FROM 'object' THEN
        RETURN NEW;
    END IF;
    SELECT coalesce(jsonb_object_agg(s.key, CASE WHEN si.storage_url IS NOT NULL AND jsonb_typeof(s.value) = 'object'
                                                 THEN s.value || jsonb_build_object('scene_start_frame', si.storage_url)
                                                 ELSE s.value END), '{}')
    INTO kept
    FROM jsonb_each(scenes) AS s
    LEFT JOIN public.scene_images AS si
           ON si.project_id = (saved ->> 'id')::uuid AND si.scene_id = s.key AND si.is_current;
    IF kept IS DISTINCT FROM scenes THEN
        NEW := jsonb_populate_record(NEW, jsonb_build_object(master_json_column, jsonb_set(master, '{scenes}', kept)));
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION scene_images_internal.keep_master_json_true() IS
    'BEFORE INSERT OR UPDATE of the projects table''s masterJSON: every scene of the written document that has a current '
    'image gets its permanent URL as scene_start_frame; nothing else changes. Argument: the masterJSON column''s name.';
CALL scene_images_internal.revoke_all_grants('scene_images_internal.keep_master_json_true()'::regprocedure);

CREATE TRIGGER scene_images_keep_master_json
    BEFORE INSERT OR UPDATE OF :"master_json_column" ON :projects_table
    FOR EACH ROW EXECUTE FUNCTION scene_images_internal.keep_master_json_true(:'master_json_column');

COMMENT ON TRIGGER scene_images_keep_master_json ON :projects_table IS
    'scene-images: keeps scene_start_frame on the permanent URL of each scene''s current image, whoever saves masterJSON.';

COMMIT;
