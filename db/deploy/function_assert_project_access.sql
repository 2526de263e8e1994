-- Deploy scene-images:function_assert_project_access to pg
-- requires: function_caller_identity
-- requires: table_projects
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE FUNCTION scene_images_internal.assert_project_access(project_id uuid)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
DECLARE
    owner uuid;
BEGIN
    IF project_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'project_id must not be NULL';
    END IF;
    SELECT p.owner_id INTO owner FROM scene_images_internal.projects AS p WHERE p.id = assert_project_access.project_id;
    IF scene_images_internal.caller_is_admin() THEN
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'SIP01', MESSAGE = format('project %s does not exist', project_id);
        END IF;
    ELSIF NOT FOUND OR owner IS NULL OR owner IS DISTINCT FROM public.request_uid() THEN
        -- owner IS NULL: an ownerless project is no client's, even one whose JWT has no valid sub.
        -- Same answer for "missing" and "not yours": a client learns nothing about others' projects.
        RAISE EXCEPTION USING
            ERRCODE = 'insufficient_privilege',
            MESSAGE = format('project %s does not exist or does not belong to the caller', project_id);
    END IF;
END
$$;

COMMENT ON FUNCTION scene_images_internal.assert_project_access(uuid) IS
    'Raise unless the caller may write to the project: admins (owner role, superuser, service_role) any existing project, '
    'authenticated users only projects whose owner_id is their request_uid(). Errors: 22004, SIP01, 42501.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.assert_project_access(uuid)'::regprocedure);

COMMIT;
