-- Revert scene-images:table_scene_images from pg

BEGIN;

DROP TABLE public.scene_images;

COMMIT;
