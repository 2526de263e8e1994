-- Deploy scene-images:table_scene_image_jobs to pg
-- requires: schema_internal
-- requires: table_scene_images
-- requires: procedure_revoke_all_grants

BEGIN;

SELECT value ->> 'table' AS projects_table FROM scene_images_internal.settings WHERE name = 'projects' \gset

CREATE TABLE scene_images_internal.scene_image_jobs (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id          uuid        NOT NULL REFERENCES :projects_table (id) ON DELETE CASCADE,
    scene_id            text        NOT NULL,
    source_url          text        NOT NULL,
    prompt              text,
    provider            text        NOT NULL,
    metadata            jsonb       NOT NULL,
    status              text        NOT NULL DEFAULT 'queued'
                                    CONSTRAINT scene_image_jobs_status_known
                                    CHECK (status IN ('queued', 'running', 'stored', 'failed')),
    attempts            integer     NOT NULL DEFAULT 0 CONSTRAINT scene_image_jobs_attempts_nonnegative CHECK (attempts >= 0),
    max_attempts        integer     NOT NULL CONSTRAINT scene_image_jobs_max_attempts_positive CHECK (max_attempts >= 1),
    available_at        timestamptz NOT NULL DEFAULT now(),
    locked_by           text,
    locked_by_login     text,
    lease_expires_at    timestamptz,
    last_error_sqlstate text,
    last_error          text,
    secrets_discarded_at timestamptz,
    scene_image_id      uuid        REFERENCES public.scene_images (id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scene_image_jobs_lease_while_running CHECK ((status = 'running') = (lease_expires_at IS NOT NULL))
);

-- Failed jobs whose URL secrets are still kept, for the purge in claim_scene_image_jobs.
CREATE INDEX scene_image_jobs_failed_secrets_idx ON scene_images_internal.scene_image_jobs (updated_at)
    WHERE status = 'failed' AND secrets_discarded_at IS NULL;

-- What claim_scene_image_jobs scans: ready jobs by time, and leases that may have expired.
CREATE INDEX scene_image_jobs_queued_idx ON scene_images_internal.scene_image_jobs (available_at) WHERE status = 'queued';
CREATE INDEX scene_image_jobs_running_idx ON scene_images_internal.scene_image_jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX scene_image_jobs_project_idx ON scene_images_internal.scene_image_jobs (project_id, scene_id);
-- Deleting a scene_images row sets its jobs' reference to NULL: found by index, not a scan.
CREATE INDEX scene_image_jobs_scene_image_idx ON scene_images_internal.scene_image_jobs (scene_image_id);

COMMENT ON TABLE scene_images_internal.scene_image_jobs IS
    'Asynchronous store requests: queued -> running (leased to a worker) -> stored | failed; retried with backoff.';
COMMENT ON COLUMN scene_images_internal.scene_image_jobs.available_at IS 'Not claimable before this time (retry backoff).';
COMMENT ON COLUMN scene_images_internal.scene_image_jobs.locked_by IS
    'The worker name that claimed the job last (kept after it ended). With locked_by_login, the holder of the claim.';
COMMENT ON COLUMN scene_images_internal.scene_image_jobs.locked_by_login IS
    'The login (session_user) that claimed the job last: only this login and locked_by, while the lease is live, may complete or fail it.';
COMMENT ON COLUMN scene_images_internal.scene_image_jobs.lease_expires_at IS 'While running: when the job becomes claimable again if its worker died.';
COMMENT ON COLUMN scene_images_internal.scene_image_jobs.last_error_sqlstate IS 'SQLSTATE of the last failure (see the README error table).';
COMMENT ON COLUMN scene_images_internal.scene_image_jobs.secrets_discarded_at IS
    'When source_url was redacted: stored, or 24 hours after its final failure. Such a job cannot be retried.';
COMMENT ON COLUMN scene_images_internal.scene_image_jobs.scene_image_id IS 'The row the job produced, once stored.';

-- What the pending-jobs cap counts: queued and running jobs of one project.
CREATE INDEX scene_image_jobs_pending_idx ON scene_images_internal.scene_image_jobs (project_id)
    WHERE status IN ('queued', 'running');

CALL scene_images_internal.revoke_all_grants('scene_images_internal.scene_image_jobs'::regclass);

-- Enqueuers of one project take turns on its row here while they count its pending jobs, so two
-- concurrent enqueues cannot both pass pending_jobs_per_project. No client role can read this
-- table: no other tenant can take (or see) a project's row, as with scene_write_locks.
CREATE TABLE scene_images_internal.project_queue_locks (
    project_id uuid        PRIMARY KEY REFERENCES :projects_table (id) ON DELETE CASCADE,
    locked_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE scene_images_internal.project_queue_locks IS
    'One row per project that ever queued a job; enqueuers of the project update it (locking it) until they commit.';

CALL scene_images_internal.revoke_all_grants('scene_images_internal.project_queue_locks'::regclass);

COMMIT;
