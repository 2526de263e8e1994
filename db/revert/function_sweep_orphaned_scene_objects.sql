-- Revert scene-images:function_sweep_orphaned_scene_objects from pg

BEGIN;

DROP FUNCTION IF EXISTS public.sweep_orphaned_scene_objects(interval, boolean);
DROP FUNCTION IF EXISTS scene_images_internal.try_sweep_orphaned_scene_objects(interval, boolean);

COMMIT;
