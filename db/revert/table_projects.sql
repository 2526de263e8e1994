-- Revert scene-images:table_projects from pg

BEGIN;

DROP TABLE public.projects;

COMMIT;
