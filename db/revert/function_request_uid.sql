-- Revert scene-images:function_request_uid from pg

BEGIN;

DROP FUNCTION public.request_uid();

COMMIT;
