-- Verify scene-images:functions_scene_image_jobs_worker on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.has_function_privilege('scene_images_worker', 'public.claim_scene_image_jobs(text, integer, interval)', 'execute'),
        'workers cannot claim';
    ASSERT NOT pg_catalog.has_function_privilege('service_role', 'public.get_scene_image_worker_settings()', 'execute'),
        'service_role can read worker settings (secrets)';
    ASSERT NOT pg_catalog.has_function_privilege('authenticated', 'public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)', 'execute'),
        'authenticated can complete jobs';
END
$$;

ROLLBACK;
