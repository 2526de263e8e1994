"""One identity (issue 18): our request_uid() answers what Supabase's auth.uid() answers,
whichever claim setting carries the user (the legacy per-claim one wins, as in auth.uid()), and
row-level security sees that user; a `sub` that is not a uuid is refused, never read as nobody.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

pytest.register_assert_rewrite("security_fixtures", "supabase_cluster")  # asserts imported before the plugins load

from security_fixtures import DictConnection, primary
from supabase_cluster import SupabaseInstall, Tenant, api_request, one

pytest_plugins = ["supabase_cluster"]

ALICE, BOB = uuid.UUID(int=0xA11CE), uuid.UUID(int=0xB0B)
LEGACY = "request.jwt.claim.sub"  # PostgREST before v9 set one setting per claim


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({LEGACY: str(ALICE)}, ALICE),
        ({"claims": {"sub": str(ALICE)}}, ALICE),
        ({LEGACY: str(ALICE), "claims": {"sub": str(BOB)}}, ALICE),
        ({LEGACY: "", "claims": {"sub": str(BOB)}}, BOB),
        ({}, None),
        ({"claims": {"role": "authenticated"}}, None),
        ({"claims": {"sub": None}}, None),
    ],
    ids=["legacy-only", "claims-only", "both-legacy-first", "legacy-empty", "neither", "no-sub", "sub-null"],
)
def test_request_uid_answers_what_auth_uid_answers(
    supabase: SupabaseInstall, settings: dict[str, Any], expected: uuid.UUID | None,
) -> None:
    with supabase.api() as api, _identity_request(api, settings):
        row = one(api, "SELECT request_uid() AS ours, auth.uid() AS theirs")
    assert (row["ours"], row["theirs"]) == (expected, expected)


@pytest.mark.parametrize(
    "settings",
    [{"claims": {"sub": "not-a-uuid"}}, {LEGACY: "not-a-uuid"}, {"claims": {"sub": ""}},
     {"claims": {"sub": "1"}}, {LEGACY: str(ALICE) + "x"}],
    ids=["claims-not-uuid", "legacy-not-uuid", "claims-empty", "claims-number", "legacy-trailing"],
)
def test_a_sub_that_is_not_a_uuid_is_refused_not_read_as_nobody(
    supabase: SupabaseInstall, settings: dict[str, Any],
) -> None:
    with supabase.api() as api:
        with pytest.raises(psycopg.errors.InvalidTextRepresentation), _identity_request(api, settings):
            api.execute("SELECT auth.uid()")
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as caught, _identity_request(api, settings):
            api.execute("SELECT request_uid()")
    message = primary(caught.value).lower()
    assert "sub" in message and "uuid" in message, primary(caught.value)


@pytest.mark.parametrize("carrier", ["legacy", "claims"])
def test_rls_sees_the_user_auth_uid_names(supabase: SupabaseInstall, tenant: Tenant, carrier: str) -> None:
    settings = {LEGACY: str(tenant.user)} if carrier == "legacy" else {"claims": {"sub": str(tenant.user)}}
    with supabase.api() as api, _identity_request(api, settings):
        seen = {r["id"] for r in api.execute("SELECT id FROM projects")}
        assert one(api, "SELECT auth.uid() AS uid")["uid"] == tenant.user
    with supabase.admin() as admin:
        owned = {r["id"] for r in admin.execute("SELECT id FROM projects WHERE owner_id = %s", (tenant.user,))}
    assert tenant.project in owned and seen == owned


@contextmanager
def _identity_request(api: DictConnection, settings: dict[str, Any]) -> Iterator[DictConnection]:
    """A request as authenticated with the claims in `settings` and, under LEGACY, the old setting."""
    with api_request(api, "authenticated", settings.get("claims")) as conn:
        if LEGACY in settings:
            conn.execute("SELECT set_config(%s, %s, true)", (LEGACY, settings[LEGACY]))
        yield conn
