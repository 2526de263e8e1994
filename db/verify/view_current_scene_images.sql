-- Verify scene-images:view_current_scene_images on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- The columns (raises when one is missing), and the caller's row-level security applies through it.
SELECT id, project_id, scene_id, storage_path, storage_url, file_size, content_type, generated_at,
       provider, generation_prompt, original_fal_url, fal_metadata, version, is_current,
       sha256, width, height
FROM public.current_scene_images WHERE false;
SELECT 1 / count(*) FROM pg_catalog.pg_class
WHERE oid = 'public.current_scene_images'::regclass AND relkind = 'v' AND 'security_invoker=true' = ANY (reloptions);

-- Privileges exactly as the README's access table says, both ways (a grant on any column counts;
-- scene_images_internal.verify_relations raises naming every difference).
CALL scene_images_internal.verify_relations('{"public.current_scene_images": {"authenticated": ["SELECT"], "service_role": ["SELECT"]}}');

ROLLBACK;
