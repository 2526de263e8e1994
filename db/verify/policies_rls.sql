-- Verify scene-images:policies_rls on pg

BEGIN;

-- Raises (division by zero) when RLS is off on scene_images or a policy of ours is missing.
SELECT 1 / (SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = 'public.scene_images'::regclass)::int;
SELECT 1 / (count(*) = 2)::int FROM pg_catalog.pg_policies
WHERE schemaname = 'public' AND tablename = 'scene_images'
  AND policyname IN ('scene_images_select_authenticated', 'scene_images_all_service_role');

ROLLBACK;
