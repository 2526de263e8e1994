-- Verify scene-images:procedure_revoke_all_grants on pg
-- Every check raises when it fails (a cast to a missing object, a division by zero, RAISE
-- EXCEPTION), so plpgsql.check_asserts = off cannot switch it off (py/tests/test_sqitch_verify.py).

BEGIN;

-- Each cast raises when its signature is missing.
SELECT 'scene_images_internal.revoke_all_grants(regprocedure)'::regprocedure,
       'scene_images_internal.revoke_all_grants(regclass)'::regprocedure,
       'scene_images_internal.revoke_all_grants(regnamespace)'::regprocedure,
       'scene_images_internal.verify_routines(jsonb)'::regprocedure,
       'scene_images_internal.verify_relations(jsonb)'::regprocedure,
       'scene_images_internal.verified_roles()'::regprocedure,
       'scene_images_internal.revoke_acl(text, oid)'::regprocedure;

-- No role but the owner may call them (the worker role is checked once it exists).
CALL scene_images_internal.verify_routines('[
    {"routine": "scene_images_internal.revoke_all_grants(regprocedure)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.revoke_all_grants(regclass)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.revoke_all_grants(regnamespace)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.verify_routines(jsonb)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.verify_relations(jsonb)", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.verified_roles()", "definer": false, "grantees": []},
    {"routine": "scene_images_internal.revoke_acl(text, oid)", "definer": false, "grantees": []}
]');

ROLLBACK;
