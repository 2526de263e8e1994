-- Revert scene-images:view_current_scene_images from pg

BEGIN;

DROP VIEW public.current_scene_images;

COMMIT;
