"""The client's exception classes against sources that do not come from them: the README's error
table as a reader sees it (parsed from the Markdown), the core package's table (what the server
side names its errors after), the SQLSTATEs the deployed functions' COMMENTs promise callers,
and a real refusal from the server.

The client's table (scene_images.errors.ERRORS) is built from its classes, so each check here
starts from the classes the module defines, not from that table.
"""

from __future__ import annotations

import inspect
import pathlib
import re
import uuid

import psycopg
import pytest

from scene_images import errors as client_errors
from scene_images_core.error_table import rows

README = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
README_ROW = re.compile(r"^\| `([0-9A-Z]{5})` \| `(\w+)` \| [^|]+ \|$", re.MULTILINE)
# The SQLSTATEs in a COMMENT's "Errors: ..." text: standard ones start with a digit, ours with SI.
SQLSTATE = re.compile(r"\b(?:[0-9][0-9A-Z]{4}|SI[A-Z][0-9]{2})\b")
# Standard SQLSTATEs the client leaves to psycopg's own classes.
PSYCOPG_OWN = {"57014": psycopg.errors.QueryCanceled}


def client_classes() -> dict[str, str]:
    """SQLSTATE -> class name for every SceneImageError subclass the module defines; two
    classes with one SQLSTATE fail here (the table built from them would drop one)."""
    classes = [cls for _, cls in inspect.getmembers(client_errors, inspect.isclass)
               if issubclass(cls, client_errors.SceneImageError) and cls is not client_errors.SceneImageError]
    table = {cls.sqlstate: cls.__name__ for cls in classes}
    assert len(table) == len(classes), f"SQLSTATEs shared by client classes: {sorted(c.__name__ for c in classes)}"
    return table


def test_client_classes_are_the_readme_error_table():
    documented = dict(README_ROW.findall(README))
    assert len(documented) >= 20, "the README's error table was not found"
    assert client_classes() == documented


def test_client_classes_are_the_core_error_table():
    assert client_classes() == {state: name for state, name, _ in rows()}


def test_the_client_table_maps_every_class_by_its_sqlstate():
    for state, name in client_classes().items():
        mapped = client_errors.error_for(state, "message", "detail", "hint")
        assert mapped is not None and type(mapped).__name__ == name and mapped.sqlstate == state
        assert (mapped.message, mapped.detail, mapped.hint) == ("message", "detail", "hint")
    assert client_errors.error_for("XX000", "internal") is None


def test_every_error_the_public_functions_document_has_a_client_class(db):
    comments = db.execute(
        "SELECT p.oid::regprocedure::text AS routine, obj_description(p.oid, 'pg_proc') AS comment"
        " FROM pg_proc AS p WHERE p.pronamespace = 'public'::regnamespace"
        " AND obj_description(p.oid, 'pg_proc') ~ 'Errors: '").fetchall()
    assert len(comments) >= 10
    promised = {state: row["routine"] for row in comments
                for state in SQLSTATE.findall(row["comment"].split("Errors: ", 1)[1])}
    assert {"SIP01", "SIU01", "SIJ04", "54000", "57014"} <= set(promised)
    unknown = {state: routine for state, routine in promised.items()
               if state not in client_classes() and state not in PSYCOPG_OWN}
    assert not unknown, f"documented by the server, unknown to the client: {unknown}"


def test_a_refusal_from_the_server_raises_its_client_class(db):
    with pytest.raises(client_errors.ProjectNotFound) as caught, client_errors.translating_errors():
        db.execute("SELECT * FROM store_scene_image(project_id => %s, scene_id => 's1',"
                   " source_url => 'http://127.0.0.1:9/img.png')", (uuid.uuid4(),))
    assert caught.value.sqlstate == "SIP01" and caught.value.message.startswith("ProjectNotFound: project ")
    assert isinstance(caught.value.__cause__, psycopg.Error)
