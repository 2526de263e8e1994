-- Verify scene-images:view_current_scene_images on pg

BEGIN;

SELECT id, project_id, scene_id, storage_url, version, is_current FROM public.current_scene_images WHERE false;

ROLLBACK;
