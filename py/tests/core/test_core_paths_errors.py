"""Object paths and the error catalogue."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from scene_images_core.errors import (
    ERRORS,
    IngestError,
    ItemFailed,
    SourceTimeout,
    StorageFailed,
    StorageMisconfigured,
)
from scene_images_core.paths import SCENE_ID_PATTERN, check_object_path, object_path
from scene_images_plpy.errors import attempt, refusal

SHA = "0123456789abcdef" * 4


def test_object_path_is_versioned_and_utc() -> None:
    project = uuid.UUID("0b6f2d6e-3c1e-4d0a-9d7e-2f1c3b4a5d6e")
    stored_at = datetime(2024, 1, 2, 4, 4, 5, 6, tzinfo=timezone(timedelta(hours=1)))
    assert (
        object_path(project, "scene_1.a-b", stored_at, SHA, "png")
        == "projects/0b6f2d6e-3c1e-4d0a-9d7e-2f1c3b4a5d6e/scenes/scene_1.a-b_20240102T030405000006Z_0123456789ab.png"
    )


@pytest.mark.parametrize(
    "scene_id", ["", ".hidden", "-x", "a/b", "a b", "x" * 129, "ok\n", "é", "../x"]
)
def test_object_path_refuses_bad_scene_ids(scene_id: str) -> None:
    with pytest.raises(ValueError, match="scene_id"):
        object_path("p", scene_id, datetime.now(UTC), SHA, "png")


def test_scene_id_pattern_allows_the_documented_shape() -> None:
    assert re.fullmatch(SCENE_ID_PATTERN, "A" + "b" * 127)
    object_path("p", "A" + "b" * 127, datetime.now(UTC), SHA, "webp")


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("p/q", "s", datetime.now(UTC), SHA, "png"), "project_id"),
        (("p", "s", datetime(2024, 1, 1), SHA, "png"), "timezone-aware"),
        (("p", "s", datetime.now(UTC), "ABC", "png"), "sha256"),
        (("p", "s", datetime.now(UTC), SHA, "exe"), "extension"),
    ],
)
def test_object_path_refuses_bad_parts(
    args: tuple[object, ...], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        object_path(*args)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["a/b.png", "projects/x/scenes/s_1.png", ".tmp-x"])
def test_check_object_path_accepts_relative_paths(path: str) -> None:
    assert check_object_path(path) == path


def test_errors_have_distinct_sqlstates_and_meanings() -> None:
    states = [e.sqlstate for e in ERRORS]
    assert len(set(states)) == len(ERRORS) == 14
    assert all(re.fullmatch(r"SI[A-Z][0-9]{2}", s) for s in states)
    assert all(issubclass(e, IngestError) and e.meaning for e in ERRORS)


def test_error_messages_name_the_redacted_url() -> None:
    error = SourceTimeout(
        "read timed out", url="https://u:p@cdn.test/a.png?X-Amz-Signature=s3cr3t"
    )
    assert (
        error.message
        == "https://cdn.test/a.png?X-Amz-Signature=REDACTED: read timed out"
    )
    assert str(error) == error.message
    assert StorageFailed("disk full").message == "disk full"


def test_item_failed_mirrors_the_wrapped_error() -> None:
    inner = SourceTimeout("slow", url="http://a.test/")
    failed = ItemFailed(4, inner)
    assert (failed.index, failed.error, failed.sqlstate) == (4, inner, "SIF03")
    assert failed.message == "item 4: http://a.test/: slow"
    assert ItemFailed(0, ValueError("bad")).sqlstate == "22023"


class FakePlpy:
    """What attempt takes from plpy: its two exception types, and log (kept here)."""

    logged: list[str] = []

    class SPIError(Exception):
        pass

    class Error(Exception):
        pass

    @classmethod
    def log(cls, message: str) -> None:
        cls.logged.append(message)


def raising(error: BaseException) -> Callable[[], object]:
    def work() -> object:
        raise error
    return work


def spi_error(sqlstate: str, message: str, detail: str | None = None, hint: str | None = None) -> Exception:
    """An SPIError as PL/Python builds it: the SQLSTATE packed in spidata[0] as MAKE_SQLSTATE
    does (a `sqlstate` attribute only for the codes PostgreSQL itself knows)."""
    error = FakePlpy.SPIError(message)
    packed = sum((ord(char) - ord("0")) << (6 * i) for i, char in enumerate(sqlstate))
    error.spidata = (packed, detail, hint, None, 0)  # type: ignore[attr-defined]
    return error


def test_a_success_answers_with_no_refusal() -> None:
    assert attempt(FakePlpy, lambda: {"id": 1}, result="image") == {
        "image": {"id": 1}, "sqlstate": None, "message": None, "detail": None, "hint": None}


@pytest.mark.parametrize("wrapped", [False, True], ids=["single", "bulk_item"])
@pytest.mark.parametrize("for_owner", [False, True], ids=["client", "owner"])
def test_a_refusal_carries_the_ingest_errors_hint(wrapped: bool, for_owner: bool) -> None:
    error: IngestError = StorageMisconfigured(
        "file storage root /srv/x is missing", kind="file", summary="the storage root is missing", hint="create it"
    )
    if wrapped:
        error = ItemFailed(3, error)
    outcome = attempt(FakePlpy, raising(error), result="image", for_owner=for_owner)
    shown = "file storage root /srv/x is missing" if for_owner else "file storage backend: the storage root is missing"
    assert outcome == {"image": None, "sqlstate": "SIS02", "detail": None, "hint": "create it",
                       "message": "StorageMisconfigured: " + ("item 3: " if wrapped else "") + shown}


def test_a_refusal_has_no_hint_when_the_ingest_error_has_none() -> None:
    outcome = attempt(FakePlpy, raising(StorageFailed("disk full", kind="file")), result="image")
    assert (outcome["sqlstate"], outcome["hint"]) == ("SIS01", None)


def test_an_sql_error_of_ours_keeps_its_detail_and_hint_and_gets_its_name() -> None:
    error = spi_error("SIP01", "project 7 does not exist", "no such row", "create it first")
    assert refusal(FakePlpy, error) == {"sqlstate": "SIP01", "message": "ProjectNotFound: project 7 does not exist",
                                        "detail": "no such row", "hint": "create it first"}


def test_a_cancel_is_handed_on_as_postgresql_said_it() -> None:
    error = spi_error("57014", "canceling statement due to statement timeout")
    error.sqlstate = "57014"  # type: ignore[attr-defined]  # a code PostgreSQL knows
    assert refusal(FakePlpy, error) == {"sqlstate": "57014", "message": "canceling statement due to statement timeout",
                                        "detail": None, "hint": None}


def test_a_validation_error_is_invalid_argument() -> None:
    assert attempt(FakePlpy, raising(ValueError("bad scene_id")), result="image")["message"] == (
        "InvalidArgument: bad scene_id")


@pytest.mark.parametrize("error", [RuntimeError("a bug"), spi_error("40P01", "deadlock detected")],
                         ids=["python-bug", "undocumented-sql-error"])
def test_anything_else_propagates_with_its_traceback(error: Exception) -> None:
    with pytest.raises(type(error)):
        attempt(FakePlpy, raising(error), result="image")
