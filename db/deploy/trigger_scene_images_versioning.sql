-- Deploy scene-images:trigger_scene_images_versioning to pg
-- requires: table_scene_images
-- requires: schema_internal
-- requires: procedure_revoke_all_grants

BEGIN;

SELECT value ->> 'table' AS projects_table FROM scene_images_internal.settings WHERE name = 'projects' \gset

-- Writers of one scene are serialised by a row lock on that scene's row here: a table no
-- client role can read, so no other tenant can take (or even see) the lock. Advisory locks
-- were open to every role on keys anyone could compute, and let one tenant stall another.
CREATE TABLE scene_images_internal.scene_write_locks (
    project_id uuid NOT NULL REFERENCES :projects_table (id) ON DELETE CASCADE,
    scene_id   text NOT NULL,
    PRIMARY KEY (project_id, scene_id)
);

COMMENT ON TABLE scene_images_internal.scene_write_locks IS
    'One row per scene ever written; writers of the scene lock it FOR UPDATE until they commit.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.scene_write_locks'::regclass);

CREATE FUNCTION scene_images_internal.lock_scene(project_id uuid, scene_id text)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    -- A concurrent first insert of the same scene waits for the other to commit, then finds it.
    INSERT INTO scene_images_internal.scene_write_locks AS l (project_id, scene_id)
    VALUES (lock_scene.project_id, lock_scene.scene_id)
    ON CONFLICT DO NOTHING;
    SELECT NULL::void FROM scene_images_internal.scene_write_locks AS l
    WHERE l.project_id = lock_scene.project_id AND l.scene_id = lock_scene.scene_id
    FOR NO KEY UPDATE;
$$;

COMMENT ON FUNCTION scene_images_internal.lock_scene(uuid, text) IS
    'Take the per-scene write lock until the end of the transaction.';

CREATE FUNCTION scene_images_internal.assign_scene_image_version()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
BEGIN
    PERFORM scene_images_internal.lock_scene(NEW.project_id, NEW.scene_id);
    -- After the lock, this statement's snapshot sees every committed earlier version.
    SELECT coalesce(max(si.version), 0) + 1 INTO NEW.version
    FROM public.scene_images AS si
    WHERE si.project_id = NEW.project_id AND si.scene_id = NEW.scene_id;
    UPDATE public.scene_images AS si SET is_current = false
    WHERE si.project_id = NEW.project_id AND si.scene_id = NEW.scene_id AND si.is_current;
    NEW.is_current := true;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION scene_images_internal.assign_scene_image_version() IS
    'BEFORE INSERT on scene_images: version = previous max + 1 for the scene, and the new row becomes the only current one.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.lock_scene(uuid, text)'::regprocedure);
CALL scene_images_internal.revoke_all_grants('scene_images_internal.assign_scene_image_version()'::regprocedure);

CREATE TRIGGER scene_images_versioning
    BEFORE INSERT ON public.scene_images
    FOR EACH ROW EXECUTE FUNCTION scene_images_internal.assign_scene_image_version();

COMMENT ON TRIGGER scene_images_versioning ON public.scene_images IS
    'Numbers versions per scene and keeps exactly one current row, safely under concurrent inserts.';

COMMIT;
