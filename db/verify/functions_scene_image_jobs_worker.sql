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
    ASSERT pg_catalog.to_regprocedure('scene_images_internal.check_job_completion(scene_images_internal.scene_image_jobs, text, text, bigint, text, text, integer, integer, jsonb)') IS NOT NULL,
        'completion facts are not checked';
    ASSERT NOT pg_catalog.has_function_privilege('scene_images_worker', 'scene_images_internal.storage_object_url(text)', 'execute'),
        'workers can call an internal helper';
END
$$;

ROLLBACK;
