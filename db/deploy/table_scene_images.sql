-- Deploy scene-images:table_scene_images to pg
-- requires: table_projects
-- requires: functions_scene_image_rules
-- requires: procedure_revoke_all_grants

BEGIN;

SELECT value ->> 'table' AS projects_table FROM scene_images_internal.settings WHERE name = 'projects' \gset
-- The checks hold the rules' values, not calls: client roles (the app's own INSERT) may not
-- execute internal functions, and a constraint runs as whoever writes the row.
SELECT scene_images_internal.scene_id_pattern() AS scene_id_pattern,
       scene_images_internal.max_url_length() AS max_url_length \gset

CREATE TABLE public.scene_images (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id        uuid        NOT NULL REFERENCES :projects_table (id) ON DELETE CASCADE,
    scene_id          text        NOT NULL
                                  CONSTRAINT scene_images_scene_id_format
                                  CHECK (scene_id ~ :'scene_id_pattern'),
    storage_path      text        NOT NULL
                                  CONSTRAINT scene_images_storage_path_relative
                                  CHECK (length(storage_path) BETWEEN 1 AND 1024
                                         AND storage_path !~ '^/'
                                         AND storage_path !~ '(^|/)\.\.?(/|$)'
                                         AND storage_path !~ '[\\[:cntrl:]]'),
    storage_url       text        NOT NULL
                                  CONSTRAINT scene_images_storage_url_absolute
                                  CHECK (storage_url ~ '^(https?|file)://' AND length(storage_url) <= :max_url_length),
    file_size         bigint      CONSTRAINT scene_images_file_size_nonnegative CHECK (file_size >= 0),
    content_type      text        NOT NULL DEFAULT 'image/jpeg'
                                  CONSTRAINT scene_images_content_type_image CHECK (content_type ~ '^image/[a-z0-9.+-]+$'),
    generated_at      timestamptz NOT NULL DEFAULT now(),
    provider          text        NOT NULL DEFAULT 'fal_ai_flux'
                                  CONSTRAINT scene_images_provider_length CHECK (length(provider) BETWEEN 1 AND 100),
    generation_prompt text,
    original_fal_url  text,
    fal_metadata      jsonb       NOT NULL DEFAULT '{}'
                                  CONSTRAINT scene_images_fal_metadata_object CHECK (jsonb_typeof(fal_metadata) = 'object'),
    version           integer     NOT NULL DEFAULT 1 CONSTRAINT scene_images_version_positive CHECK (version >= 1),
    is_current        boolean     NOT NULL DEFAULT true,
    sha256            text        CONSTRAINT scene_images_sha256_hex CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    width             integer     CONSTRAINT scene_images_width_positive CHECK (width > 0),
    height            integer     CONSTRAINT scene_images_height_positive CHECK (height > 0),
    CONSTRAINT scene_images_project_scene_version_key UNIQUE (project_id, scene_id, version)
);

-- At most one current version per scene; also the index behind every current-image lookup.
CREATE UNIQUE INDEX scene_images_one_current_idx
    ON public.scene_images (project_id, scene_id) WHERE is_current;

CREATE INDEX scene_images_storage_path_idx ON public.scene_images (storage_path);

COMMENT ON TABLE public.scene_images IS
    'Every stored version of every scene image: a permanent object in storage we control, with its metadata.';
COMMENT ON COLUMN public.scene_images.scene_id IS 'The scene''s key in masterJSON: 1-128 of [A-Za-z0-9_.-], starting with a letter or digit.';
COMMENT ON COLUMN public.scene_images.storage_path IS 'Object path inside the storage backend (relative, never reused).';
COMMENT ON COLUMN public.scene_images.storage_url IS 'The permanent URL of the object; what masterJSON points at.';
COMMENT ON COLUMN public.scene_images.content_type IS 'MIME type sniffed from the bytes, never taken from the source''s header.';
COMMENT ON COLUMN public.scene_images.original_fal_url IS 'The generator''s temporary URL the image came from (credentials stripped). Never served.';
COMMENT ON COLUMN public.scene_images.fal_metadata IS 'The caller''s metadata plus what the source''s response told (under the key "source").';
COMMENT ON COLUMN public.scene_images.version IS 'Assigned by the versioning trigger: previous max + 1 for the scene, whatever the client passed.';
COMMENT ON COLUMN public.scene_images.is_current IS 'True for exactly the one version masterJSON uses; see set_current_scene_image.';
COMMENT ON COLUMN public.scene_images.file_size IS 'Bytes stored. Always set by our functions; NULL only in rows the app wrote itself (the design''s own INSERT).';
COMMENT ON COLUMN public.scene_images.sha256 IS 'Hex SHA-256 of the stored bytes. Always set by our functions; NULL only in rows the app wrote itself.';
COMMENT ON COLUMN public.scene_images.width IS 'Pixel width parsed from the image header. Always set by our functions; NULL only in rows the app wrote itself.';
COMMENT ON COLUMN public.scene_images.height IS 'Pixel height parsed from the image header. Always set by our functions; NULL only in rows the app wrote itself.';

CALL scene_images_internal.revoke_all_grants('public.scene_images'::regclass);
GRANT SELECT ON public.scene_images TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.scene_images TO service_role;

COMMIT;
