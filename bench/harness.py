"""What every benchmark section shares: the configuration (full or BENCH_QUICK), the database
and storage set-up, unique image URLs, timing and medians, and the machine description."""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from source import SourceProcess

from scene_images_plpy.store import MAX_WORKERS

ROOT = Path(__file__).resolve().parents[1]
KIB = 1024
MIB = 1024 * KIB
SERVER_USER = "postgres"  # the OS user the cluster (and so PL/Python) writes files as


@dataclass(frozen=True)
class Config:
    """Sizes, counts and repetitions. `full()` is `make bench`; `quick()` a smoke run."""

    quick: bool
    reps: int  # repetitions behind every median
    ttfbs_ms: tuple[int, ...]  # time to first byte of the image source
    single_size: int
    single_reps: int  # single stores are cheap: more repetitions
    bulk_images: int
    bulk_sizes: tuple[int, ...]
    bulk_workers: int  # the bulk function's pool size: raw downloads use the same
    app_pool_sizes: tuple[int, ...]  # thread-pool sizes tried for the best app-side version
    lookup_rows: tuple[int, ...]
    lookup_projects: int
    lookup_reps: int  # pgbench runs per table size (sizes cannot alternate: the table grows)
    pgbench_clients: int
    pgbench_seconds: int
    version_depths: tuple[int, ...]
    version_inserts: int
    memory_size: int
    memory_bulk_images: int  # the bulk memory row: this many images of memory_bulk_size in one call
    memory_bulk_size: int
    queue_processes: tuple[int, ...]
    queue_concurrency: int  # --concurrency of each worker process
    queue_jobs: int
    queue_size: int
    queue_ttfb_ms: int

    @classmethod
    def full(cls) -> Config:
        return cls(
            quick=False, reps=3, ttfbs_ms=(0, 50), single_size=MIB, single_reps=15,
            bulk_images=100, bulk_sizes=(256 * KIB, MIB, 4 * MIB), bulk_workers=MAX_WORKERS,
            app_pool_sizes=(16, 32, 64), lookup_rows=(10_000, 1_000_000), lookup_projects=100,
            lookup_reps=5, pgbench_clients=4, pgbench_seconds=5, version_depths=(1, 100, 10_000), version_inserts=30,
            memory_size=25 * MIB, memory_bulk_images=32, memory_bulk_size=24 * MIB,
            queue_processes=(1, 2, 4, 8), queue_concurrency=4, queue_jobs=200,
            queue_size=256 * KIB, queue_ttfb_ms=50,
        )

    @classmethod
    def quick_run(cls) -> Config:
        return cls(
            quick=True, reps=2, ttfbs_ms=(0, 50), single_size=MIB, single_reps=3,
            bulk_images=12, bulk_sizes=(256 * KIB,), bulk_workers=MAX_WORKERS,
            app_pool_sizes=(16,), lookup_rows=(1_000, 10_000), lookup_projects=10,
            lookup_reps=2, pgbench_clients=2, pgbench_seconds=1, version_depths=(1, 10, 100), version_inserts=5,
            memory_size=4 * MIB, memory_bulk_images=8, memory_bulk_size=4 * MIB, queue_processes=(1, 2),
            queue_concurrency=4, queue_jobs=16,
            queue_size=64 * KIB, queue_ttfb_ms=50,
        )

    @classmethod
    def from_environment(cls) -> Config:
        return cls.quick_run() if os.environ.get("BENCH_QUICK", "") not in ("", "0") else cls.full()


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples))


def timed(fn: Callable[[], object]) -> float:
    """Seconds fn() took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def figure(samples: Sequence[float], **facts: Any) -> dict[str, Any]:
    """A median and the samples it came from (seconds unless the key says otherwise)."""
    return {"median": median(samples), "samples": list(samples), **facts}


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class Bench:
    """One benchmark run's shared state: the database (`dbname`, else the PG* environment), the
    image source process, a storage root of its own, and the projects it created (deleted by
    `close`)."""

    config: Config
    source: SourceProcess
    storage_root: Path
    dbname: str | None = None
    projects: list[uuid.UUID] = field(default_factory=list)
    _admin: psycopg.Connection[dict[str, Any]] | None = None
    _tokens: int = 0

    PUBLIC_BASE_URL = "http://127.0.0.1:54380/bench"

    @property
    def admin(self) -> psycopg.Connection[dict[str, Any]]:
        if self._admin is None:
            self._admin = self.connect()
        return self._admin

    @property
    def conninfo(self) -> str:
        return psycopg.conninfo.make_conninfo(dbname=self.dbname) if self.dbname else ""

    def child_env(self) -> dict[str, str]:
        """The environment for child processes (pgbench, workers): libpq finds our database."""
        return {**os.environ, **({"PGDATABASE": self.dbname} if self.dbname else {})}

    def connect(self) -> psycopg.Connection[dict[str, Any]]:
        return psycopg.connect(self.conninfo, autocommit=True, row_factory=dict_row)

    def configure(self) -> None:
        """Point the database at this run's storage root and let it fetch from loopback, and
        remove what an interrupted earlier run left (the bench owns its database)."""
        left = self.admin.execute("DELETE FROM public.projects WHERE name LIKE 'bench:%'")
        if left.rowcount:
            self.admin.execute("VACUUM FULL public.scene_images")
        self.storage_root.mkdir(parents=True, exist_ok=True)
        projects = self.storage_root / "projects"
        projects.mkdir(exist_ok=True)
        # The server writes as its OS user; the app-side baselines (this process) write there too.
        shutil.chown(self.storage_root, SERVER_USER, SERVER_USER)
        shutil.chown(projects, SERVER_USER, SERVER_USER)
        self.admin.execute(
            "SELECT public.configure_scene_image_storage('file', %s)",
            [Jsonb({"root": str(self.storage_root), "public_base_url": self.PUBLIC_BASE_URL})],
        )
        self.admin.execute(
            "SELECT public.configure_scene_image_fetch(%s)",
            [Jsonb({"allow_private_networks": ["127.0.0.1/32"], "allowed_hosts": [],
                    "max_bytes": 64 * MIB, "timeout_s": 120})],
        )

    def new_project(self, label: str) -> uuid.UUID:
        row = self.admin.execute(
            "INSERT INTO public.projects (name, master_json) VALUES (%s, '{\"scenes\": {}}') RETURNING id",
            [f"bench: {label}"],
        ).fetchone()
        assert row is not None
        self.projects.append(row["id"])
        return row["id"]

    def url(self, size: int, ttfb_ms: int) -> str:
        """A URL no other call of this run uses, so its image has a sha256 of its own."""
        self._tokens += 1
        return self.source.url(size, f"{os.getpid()}-{self._tokens}", ttfb_ms)

    def project_dir(self, project_id: uuid.UUID) -> Path:
        return self.storage_root / "projects" / str(project_id)

    def drop_objects(self, project_id: uuid.UUID) -> None:
        """Delete a project's stored files (rows stay): keeps the disk and page cache small."""
        shutil.rmtree(self.project_dir(project_id), ignore_errors=True)

    def close(self) -> None:
        if self.projects:
            self.admin.execute("DELETE FROM public.projects WHERE id = ANY(%s)", [self.projects])
        for project_id in self.projects:
            self.drop_objects(project_id)
        self.projects.clear()
        if self._admin is not None:
            self._admin.close()
            self._admin = None


@contextmanager
def bench_session(config: Config, storage_root: Path, dbname: str | None = None) -> Iterator[Bench]:
    """Start the image source, configure the database, and clean up after."""
    with SourceProcess() as source:
        bench = Bench(config, source, storage_root, dbname)
        try:
            bench.configure()
            yield bench
        finally:
            bench.close()


def machine(conn: psycopg.Connection[dict[str, Any]]) -> dict[str, Any]:
    """What the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    row = conn.execute("SELECT version() AS v, current_setting('server_version') AS n").fetchone()
    assert row is not None
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "ram_gib": round(int(mem_kib.group(1)) / MIB, 1) if mem_kib else None,
        "postgresql": row["n"],
        "postgresql_full": row["v"],
        "python_app": platform.python_version(),
        "python_server": _server_python(conn),
        "os": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
    }


def _server_python(conn: psycopg.Connection[dict[str, Any]]) -> str:
    """The Python inside PostgreSQL (PL/Python), asked through a DO block's NOTICE."""
    notices: list[str] = []

    def keep(diagnostic: psycopg.errors.Diagnostic) -> None:
        notices.append(diagnostic.message_primary or "")

    conn.add_notice_handler(keep)
    try:
        conn.execute("DO LANGUAGE plpython3u $$ import sys; plpy.notice(sys.version.split()[0]) $$")
    finally:
        conn.remove_notice_handler(keep)
    return notices[-1] if notices else "unknown"


def as_dict(config: Config) -> dict[str, Any]:
    return asdict(config)
