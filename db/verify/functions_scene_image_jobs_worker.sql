-- Verify scene-images:functions_scene_image_jobs_worker on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'public.claim_scene_image_jobs(text, integer, interval)'::regprocedure,
       'scene_images_private.claim_scene_image_jobs(text, integer, interval)'::regprocedure,
       'public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)'::regprocedure,
       'scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)'::regprocedure,
       'public.fail_scene_image_job(uuid, text, text, text)'::regprocedure,
       'scene_images_private.fail_scene_image_job(uuid, text, text, text)'::regprocedure,
       'public.get_scene_image_queue_counts()'::regprocedure,
       'scene_images_private.get_scene_image_queue_counts()'::regprocedure,
       'scene_images_internal.lock_job(uuid)'::regprocedure,
       'scene_images_internal.is_permanent_error(text)'::regprocedure;

-- SECURITY DEFINER exactly where the design puts it, and EXECUTE exactly as the README's access
-- table says, both ways; raises naming every difference.
DO $$
DECLARE
    wrong text;
BEGIN
    WITH f (routine, definer, grantees) AS (VALUES
        ('public.claim_scene_image_jobs(text, integer, interval)', false, '{scene_images_worker}'::name[]),
        ('scene_images_private.claim_scene_image_jobs(text, integer, interval)', true, '{scene_images_worker}'),
        ('public.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)', false, '{scene_images_worker}'),
        ('scene_images_private.complete_scene_image_job(uuid, text, text, text, bigint, text, text, integer, integer, jsonb)', true, '{scene_images_worker}'),
        ('public.fail_scene_image_job(uuid, text, text, text)', false, '{scene_images_worker}'),
        ('scene_images_private.fail_scene_image_job(uuid, text, text, text)', true, '{scene_images_worker}'),
        ('public.get_scene_image_queue_counts()', false, '{service_role,scene_images_worker}'),
        ('scene_images_private.get_scene_image_queue_counts()', true, '{service_role,scene_images_worker}'),
        ('scene_images_internal.lock_job(uuid)', false, '{}'),
        ('scene_images_internal.is_permanent_error(text)', false, '{}'),
        ('scene_images_internal.storage_object_url(text)', false, '{}'),
        ('scene_images_internal.assert_job_held(scene_images_internal.scene_image_jobs, text)', false, '{}'),
        ('scene_images_internal.url_quote(text)', false, '{}'),
        ('scene_images_internal.check_job_completion(scene_images_internal.scene_image_jobs, text, text, bigint, text, text, integer, integer, jsonb)', false, '{}')
    )
    SELECT pg_catalog.string_agg(d.problem, '; ') INTO wrong FROM (
        SELECT pg_catalog.format('%s is %sSECURITY DEFINER', f.routine, CASE WHEN f.definer THEN 'not ' ELSE '' END)
        FROM f JOIN pg_catalog.pg_proc AS p ON p.oid = f.routine::regprocedure
        WHERE p.prosecdef <> f.definer
        UNION ALL
        SELECT pg_catalog.format('%s %s EXECUTE on %s', r.role,
                                 CASE WHEN r.role = ANY (f.grantees) THEN 'lacks' ELSE 'holds' END, f.routine)
        FROM f CROSS JOIN pg_catalog.unnest('{public,anon,authenticated,service_role,scene_images_worker}'::name[]) AS r (role)
        WHERE pg_catalog.has_function_privilege(r.role, f.routine, 'EXECUTE') <> (r.role = ANY (f.grantees))
    ) AS d (problem);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'functions differ from the access table: %', wrong;
    END IF;
END
$$;

ROLLBACK;
