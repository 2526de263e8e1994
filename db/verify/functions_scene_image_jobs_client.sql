-- Verify scene-images:functions_scene_image_jobs_client on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.has_function_privilege('authenticated', 'public.enqueue_scene_image(uuid, text, text, text, text, jsonb)', 'execute'),
        'authenticated cannot enqueue';
    ASSERT NOT pg_catalog.has_function_privilege('anon', 'public.enqueue_scene_images(uuid, jsonb)', 'execute'), 'anon can enqueue';
    ASSERT pg_catalog.has_function_privilege('authenticated', 'public.get_scene_image_job(uuid)', 'execute'), 'no job status for authenticated';
    ASSERT pg_catalog.has_function_privilege('service_role', 'public.retry_scene_image_job(uuid)', 'execute'), 'no retry for service_role';
END
$$;

ROLLBACK;
