-- Verify scene-images:function_store_scene_image_fallback on pg

BEGIN;

DO $$
BEGIN
    ASSERT pg_catalog.has_function_privilege('authenticated',
        'public.store_scene_image(uuid, text, text, text, text, jsonb, boolean)', 'execute'), 'authenticated cannot store with fallback';
END
$$;

ROLLBACK;
