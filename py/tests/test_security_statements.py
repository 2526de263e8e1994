"""The statements our client and our external worker send carry URLs in bind parameters, never
in the statement text: a statement text lands in pg_stat_activity, pg_stat_statements and every
log line a DBA may share. Both run as LOGIN roles of their own with `log_statement = 'all'`, so
the server log shows each statement's text and, on a separate DETAIL line, its parameters; the
source URL carries a marker that must appear in parameters only.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterator

import pytest
from client_sources import DictConnection
from job_workers import ROOT
from psycopg import sql
from store_fixtures import Cdn, FileStorage

from scene_images import SceneImageRequest, SceneImageStore
from scene_images.worker import Worker

pytest_plugins = ["store_fixtures", "job_workers"]
pytestmark = pytest.mark.usefixtures("store_loopback_only", "fetch_policy", "empty_job_queue")

SERVER_LOG = ROOT / "var/pg/postgres.log"


@pytest.fixture
def logged_login(db: DictConnection) -> Iterator[Callable[[str], str]]:
    """make(member_of) -> a LOGIN role in that role whose every statement the server logs."""
    made: list[str] = []

    def make(member_of: str) -> str:
        name = f"logged_{secrets.token_hex(4)}"
        db.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(name), sql.Identifier(member_of)))
        db.execute(sql.SQL("ALTER ROLE {} SET log_statement = 'all'").format(sql.Identifier(name)))
        made.append(name)
        return name

    yield make
    for name in made:
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def _log_entries_since(offset: int) -> list[str]:
    """Each entry of the server log whole: a statement's text goes on over tab-led lines."""
    with SERVER_LOG.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return [entry for entry in re.split(r"\n(?=\d{4}-\d\d-\d\d )", text) if entry]


def test_client_and_worker_statements_keep_the_source_url_in_bind_parameters(
    project_id: uuid.UUID, cdn: Cdn, disk: FileStorage, logged_login: Callable[[str], str]
) -> None:
    marker = f"m{secrets.token_hex(8)}"
    client, worker = logged_login("service_role"), logged_login("scene_images_worker")
    offset = SERVER_LOG.stat().st_size

    with SceneImageStore(f"user={client}") as store:
        stored = store.download_and_store(project_id, SceneImageRequest("s1", cdn.url(f"/img.png?marker={marker}")))
        job = store.enqueue(project_id, SceneImageRequest("s2", cdn.url(f"/img.jpg?marker={marker}")))
    stats = Worker(f"user={worker}", concurrency=1, drain=True).run()
    assert stored.version == 1 and stats.counts["stored"] == 1, stats.summary()

    entries = _log_entries_since(offset)
    texts = [entry for entry in entries if "LOG:  statement:" in entry or "LOG:  execute" in entry]
    parameters = [entry for entry in entries if "DETAIL:  parameters:" in entry]
    assert any("store_scene_image" in entry for entry in texts), "the client's statements were not logged"
    assert any("complete_scene_image_job" in entry for entry in texts), "the worker's statements were not logged"
    assert [entry for entry in texts if marker in entry] == []
    # The marker did travel: as a parameter of the store, the enqueue and the worker's report.
    assert len([entry for entry in parameters if marker in entry]) >= 3
    assert str(job.id) in " ".join(parameters)
