-- Deploy scene-images:table_projects to pg
-- requires: function_request_uid
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE TABLE public.projects (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        CONSTRAINT projects_name_length CHECK (length(name) <= 200),
    master_json jsonb       NOT NULL DEFAULT '{}'
                            CONSTRAINT projects_master_json_object CHECK (jsonb_typeof(master_json) = 'object'),
    owner_id    uuid        DEFAULT public.request_uid(),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX projects_owner_id_idx ON public.projects (owner_id);

COMMENT ON TABLE public.projects IS 'A video project: its masterJSON and the owner who may store images for it.';
COMMENT ON COLUMN public.projects.master_json IS
    'The pipeline''s masterJSON. scenes.<scene_id>.scene_start_frame is kept equal to the permanent URL of the scene''s current image.';
COMMENT ON COLUMN public.projects.owner_id IS
    'The user (JWT sub claim) who owns the project; defaults to the caller''s request_uid().';

CALL scene_images_internal.revoke_all_grants('public.projects'::regclass);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.projects TO authenticated, service_role;

COMMIT;
