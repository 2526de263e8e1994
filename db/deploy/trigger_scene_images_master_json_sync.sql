-- Deploy scene-images:trigger_scene_images_master_json_sync to pg
-- requires: table_scene_images
-- requires: schema_internal
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE FUNCTION scene_images_internal.sync_master_json()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    current_url text;
    master jsonb;
BEGIN
    -- Deferred to commit: read what is current now, not what the event saw.
    SELECT si.storage_url INTO current_url
    FROM public.scene_images AS si
    WHERE si.project_id = NEW.project_id AND si.scene_id = NEW.scene_id AND si.is_current;
    IF current_url IS NULL THEN
        RETURN NULL;
    END IF;

    -- A client able to put a trigger on the projects table would run it with our rights here.
    CALL scene_images_internal.assert_projects_untriggerable();
    -- NO KEY UPDATE: compatible with the KEY SHARE locks other writers' foreign-key checks hold.
    SELECT p.master_json INTO master FROM scene_images_internal.projects AS p WHERE p.id = NEW.project_id FOR NO KEY UPDATE;
    IF jsonb_typeof(master -> 'scenes') NOT IN ('object', 'null')
       OR jsonb_typeof(master -> 'scenes' -> NEW.scene_id) NOT IN ('object', 'null') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('master_json of project %s: scenes.%s must be a JSON object', NEW.project_id, NEW.scene_id),
            HINT = 'scene_start_frame is written at master_json -> scenes -> <scene_id>.';
    END IF;

    UPDATE scene_images_internal.projects AS p
    SET master_json = jsonb_set(
            jsonb_set(master, '{scenes}', coalesce(master -> 'scenes', '{}')),
            ARRAY['scenes', NEW.scene_id],
            coalesce(master -> 'scenes' -> NEW.scene_id, '{}')
                || jsonb_build_object('scene_start_frame', current_url))
    WHERE p.id = NEW.project_id
      AND p.master_json #>> ARRAY['scenes', NEW.scene_id, 'scene_start_frame'] IS DISTINCT FROM current_url;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION scene_images_internal.sync_master_json() IS
    'Deferred AFTER trigger: sets projects.master_json -> scenes -> <scene_id> -> scene_start_frame to the current image''s URL, keeping every other key.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.sync_master_json()'::regprocedure);

-- Deferred so the project row is locked only for the instant of commit: writers of
-- different scenes of one project do not queue behind each other's downloads.
CREATE CONSTRAINT TRIGGER scene_images_master_json_sync
    AFTER INSERT OR UPDATE OF is_current ON public.scene_images
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.is_current)
    EXECUTE FUNCTION scene_images_internal.sync_master_json();

COMMENT ON TRIGGER scene_images_master_json_sync ON public.scene_images IS
    'Keeps masterJSON pointing at the current permanent URL of every scene (at commit).';

COMMIT;
