-- Verify scene-images:policies_rls on pg

BEGIN;

DO $$
BEGIN
    ASSERT (SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = 'public.projects'::regclass), 'RLS off on projects';
    ASSERT (SELECT relrowsecurity FROM pg_catalog.pg_class WHERE oid = 'public.scene_images'::regclass), 'RLS off on scene_images';
    ASSERT (SELECT count(*) FROM pg_catalog.pg_policies WHERE schemaname = 'public'
            AND tablename IN ('projects', 'scene_images')) = 7, 'policies missing';
END
$$;

ROLLBACK;
