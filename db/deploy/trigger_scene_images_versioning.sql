-- Deploy scene-images:trigger_scene_images_versioning to pg
-- requires: table_scene_images
-- requires: schema_internal

BEGIN;

-- One transaction-scoped advisory lock per scene serializes writers of that scene only;
-- the first key namespaces our locks away from other users of advisory locks.
CREATE FUNCTION scene_images_internal.lock_scene(project_id uuid, scene_id text)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT pg_catalog.pg_advisory_xact_lock(
        pg_catalog.hashtext('scene_images'),
        pg_catalog.hashtext(project_id::text || '/' || scene_id))
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

REVOKE ALL ON FUNCTION scene_images_internal.lock_scene(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION scene_images_internal.assign_scene_image_version() FROM PUBLIC;

CREATE TRIGGER scene_images_versioning
    BEFORE INSERT ON public.scene_images
    FOR EACH ROW EXECUTE FUNCTION scene_images_internal.assign_scene_image_version();

COMMENT ON TRIGGER scene_images_versioning ON public.scene_images IS
    'Numbers versions per scene and keeps exactly one current row, safely under concurrent inserts.';

COMMIT;
