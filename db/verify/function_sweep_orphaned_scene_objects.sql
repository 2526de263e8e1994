-- Verify scene-images:function_sweep_orphaned_scene_objects on pg

BEGIN;

DO $$
BEGIN
    ASSERT NOT pg_catalog.has_function_privilege('service_role', 'public.sweep_orphaned_scene_objects(interval, boolean)', 'execute'),
        'service_role can sweep storage';
END
$$;

ROLLBACK;
