-- Revert scene-images:function_sweep_orphaned_scene_objects from pg

BEGIN;

DROP FUNCTION public.sweep_orphaned_scene_objects(interval, boolean);

COMMIT;
