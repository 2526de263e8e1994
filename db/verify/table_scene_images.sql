-- Verify scene-images:table_scene_images on pg

BEGIN;

SELECT id, project_id, scene_id, storage_path, storage_url, file_size, content_type, generated_at,
       provider, generation_prompt, original_fal_url, fal_metadata, version, is_current,
       sha256, width, height
FROM public.scene_images WHERE false;

DO $$
BEGIN
    ASSERT (SELECT indisunique FROM pg_catalog.pg_index
            WHERE indexrelid = 'public.scene_images_one_current_idx'::regclass), 'one-current index is not unique';
    ASSERT NOT pg_catalog.has_table_privilege('authenticated', 'public.scene_images', 'insert'), 'authenticated can insert directly';
END
$$;

ROLLBACK;
