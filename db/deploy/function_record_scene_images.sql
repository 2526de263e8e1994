-- Deploy scene-images:function_record_scene_images to pg
-- requires: table_scene_images
-- requires: trigger_scene_images_versioning
-- requires: function_redact_url
-- requires: procedure_revoke_all_grants

BEGIN;

-- The one writer of the rows our functions record: the synchronous store, the bulk store and
-- job completion (the external worker's and process_scene_image_jobs') all come here, with every
-- row of a call in one statement. Here, and only here: the source URL is redacted, the metadata
-- gets what the source answered ("source") and the job it came from ("job_id"), and a scene whose
-- current image already has the same bytes keeps that row (the caller deletes its surplus object:
-- the answer's storage_path then differs from the one it gave).
CREATE FUNCTION scene_images_internal.record_scene_images(
    project_id uuid, -- the project every object belongs to (access already checked)
    objects jsonb    -- [{scene_id, storage_path, storage_url, file_size, content_type, sha256, width, height,
                     --   provider, prompt, source_url, metadata, source, job_id?}], scene_ids distinct
)
RETURNS SETOF public.scene_images
LANGUAGE plpgsql
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
BEGIN
    -- In one order for every writer, so two calls writing overlapping scenes cannot deadlock.
    PERFORM scene_images_internal.lock_scene(record_scene_images.project_id, s.scene_id)
    FROM (SELECT DISTINCT o ->> 'scene_id' AS scene_id FROM jsonb_array_elements(objects) AS o ORDER BY 1) AS s;

    RETURN QUERY
    WITH wanted AS (
        SELECT w.* FROM ROWS FROM (jsonb_to_recordset(objects) AS (
            scene_id text, storage_path text, storage_url text, file_size bigint, content_type text, sha256 text,
            width integer, height integer, provider text, prompt text, source_url text, metadata jsonb,
            source jsonb, job_id uuid)) WITH ORDINALITY AS w
    ), current AS (
        SELECT si.* FROM public.scene_images AS si
        WHERE si.project_id = record_scene_images.project_id AND si.is_current
          AND si.scene_id IN (SELECT wanted.scene_id FROM wanted)
    ), inserted AS (
        INSERT INTO public.scene_images (project_id, scene_id, storage_path, storage_url, file_size, content_type,
                                         provider, generation_prompt, original_fal_url, fal_metadata, sha256, width, height)
        SELECT record_scene_images.project_id, w.scene_id, w.storage_path, w.storage_url, w.file_size, w.content_type,
               w.provider, w.prompt, scene_images_internal.redact_url(w.source_url),
               coalesce(w.metadata, '{}') || jsonb_build_object('source', coalesce(w.source, '{}'))
                   || CASE WHEN w.job_id IS NULL THEN '{}' ELSE jsonb_build_object('job_id', w.job_id) END,
               w.sha256, w.width, w.height
        FROM wanted AS w
        WHERE NOT EXISTS (SELECT 1 FROM current AS c WHERE c.scene_id = w.scene_id AND c.sha256 = w.sha256)
        ORDER BY w.ordinality
        RETURNING *
    )
    SELECT r.* FROM wanted AS w
    JOIN (SELECT * FROM inserted UNION ALL SELECT * FROM current) AS r
      ON r.scene_id = w.scene_id AND r.sha256 = w.sha256
    ORDER BY w.ordinality;
END
$$;

COMMENT ON FUNCTION scene_images_internal.record_scene_images(uuid, jsonb) IS
    'Record stored objects as scene_images rows, in request order: redacted source URL, metadata with source and job_id, '
    'and the scene''s current row instead of a new one when its sha256 is the same. The only INSERT of our code.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.record_scene_images(uuid, jsonb)'::regprocedure);

COMMIT;
