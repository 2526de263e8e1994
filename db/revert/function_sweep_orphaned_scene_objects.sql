-- Revert scene-images:function_sweep_orphaned_scene_objects from pg

BEGIN;

DROP FUNCTION IF EXISTS public.sweep_orphaned_scene_objects(interval, boolean);

COMMIT;
