-- Verify scene-images:function_process_scene_image_jobs on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.has_function_privilege('scene_images_worker', 'public.process_scene_image_jobs(integer)', 'execute'),
        'workers cannot process jobs';
    ASSERT NOT pg_catalog.has_function_privilege('authenticated', 'public.process_scene_image_jobs(integer)', 'execute'),
        'authenticated can process jobs';
END
$$;

ROLLBACK;
