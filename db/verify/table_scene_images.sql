-- Verify scene-images:table_scene_images on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- The columns (raises when one is missing) and the named constraints.
SELECT id, project_id, scene_id, storage_path, storage_url, file_size, content_type, generated_at,
       provider, generation_prompt, original_fal_url, fal_metadata, version, is_current,
       sha256, width, height
FROM public.scene_images WHERE false;
SELECT 1 / (count(*) = 14)::int FROM pg_catalog.pg_constraint
WHERE conrelid = 'public.scene_images'::regclass
  AND conname IN ('scene_images_pkey', 'scene_images_project_id_fkey', 'scene_images_project_scene_version_key',
                  'scene_images_scene_id_format', 'scene_images_storage_path_relative', 'scene_images_storage_url_absolute',
                  'scene_images_file_size_nonnegative', 'scene_images_content_type_image', 'scene_images_provider_length',
                  'scene_images_fal_metadata_object', 'scene_images_version_positive', 'scene_images_sha256_hex',
                  'scene_images_width_positive', 'scene_images_height_positive');

-- At most one current version per scene: a unique partial index (raises when missing or not unique).
SELECT 1 / count(*) FROM pg_catalog.pg_index
WHERE indexrelid = 'public.scene_images_one_current_idx'::regclass AND indisunique AND indpred IS NOT NULL;
SELECT 'public.scene_images_storage_path_idx'::regclass;

-- Privileges exactly as the README's access table says, both ways (a grant on any column counts;
-- scene_images_internal.verify_relations raises naming every difference).
CALL scene_images_internal.verify_relations('{"public.scene_images": {"authenticated": ["SELECT"], "service_role": ["SELECT", "INSERT", "UPDATE", "DELETE"]}}');

ROLLBACK;
