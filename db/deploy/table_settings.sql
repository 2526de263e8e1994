-- Deploy scene-images:table_settings to pg
-- requires: schema_internal
-- requires: procedure_revoke_all_grants

BEGIN;

CREATE TABLE scene_images_internal.settings (
    name       text        PRIMARY KEY CONSTRAINT settings_name_known
                           CHECK (name IN ('storage', 'fetch', 'queue', 'limits', 'projects')),
    value      jsonb       NOT NULL CONSTRAINT settings_value_object CHECK (jsonb_typeof(value) = 'object'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE scene_images_internal.settings IS
    'Storage backend (with its secrets), fetch policy, job retry policy, the limits per call and per project, and the '
    'projects table in use. Readable by no client role; changed only through configure_* functions and the deploy.';

-- The fetch policy's keys and defaults: configure_scene_image_fetch knows these keys and no
-- others; the core's FetchPolicy defaults are pinned to them (py/tests/test_rules.py).
CREATE FUNCTION scene_images_internal.fetch_defaults()
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = pg_catalog, scene_images_internal, pg_temp
AS $$
    SELECT jsonb_build_object(
        'allowed_hosts', '[]'::jsonb,
        'allow_private_networks', false,
        'max_bytes', 25 * 1024 * 1024,
        'timeout_s', 30,
        'max_redirects', 3,
        'max_pixels', 100000000)
$$;

COMMENT ON FUNCTION scene_images_internal.fetch_defaults() IS 'Every fetch policy setting with its default.';
CALL scene_images_internal.revoke_all_grants('scene_images_internal.fetch_defaults()'::regprocedure);

-- The embedded default backend: a directory the server writes to. `make deploy` passes the
-- checkout's var/storage. Without the variable the root stays unset (nothing here may read a
-- server path: a deploy as a role that is no superuser cannot), and the first store answers
-- SIS02 naming the setting until configure_scene_image_storage sets it.
\if :{?storage_root}
\else
    \set storage_root ''
\endif
\if :{?storage_public_base_url}
\else
    \set storage_public_base_url ''
\endif

INSERT INTO scene_images_internal.settings (name, value) VALUES
    ('storage', jsonb_build_object(
        'backend', 'file',
        'settings', jsonb_strip_nulls(jsonb_build_object(
            'root', nullif(:'storage_root', ''),
            'public_base_url', coalesce(nullif(:'storage_public_base_url', ''), 'file://' || nullif(:'storage_root', '')))))),
    ('fetch', scene_images_internal.fetch_defaults()),
    ('queue', jsonb_build_object(
        'max_attempts', 5,
        'retry_base_s', 2,
        'retry_max_s', 300,
        'lease_s', 300)),
    -- Checked before any fetch (configure_scene_image_limits documents each).
    ('limits', jsonb_build_object(
        'prompt_max_bytes', 64 * 1024,
        'metadata_max_bytes', 256 * 1024,
        'metadata_max_depth', 32,
        'pending_jobs_per_project', 10000,
        'bulk_deadline_s', 300,
        'bulk_max_bytes_held', 128 * 1024 * 1024));

CALL scene_images_internal.revoke_all_grants('scene_images_internal.settings'::regclass);

COMMIT;
