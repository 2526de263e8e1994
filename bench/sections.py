"""The seven measurements of `make bench`. Each takes the run's Bench and returns a JSON-ready
dict of medians (seconds unless named otherwise), their samples, and same-run ratios.
Contenders of one comparison alternate inside each repetition, so drift of a busy machine
hits them alike."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from baseline import INSERT, AppStore, raw_download_write
from harness import Bench, figure, median, ratio, timed
from psycopg.types.json import Jsonb

MB = 1_000_000  # MB/s are decimal megabytes

STORE_ONE = "SELECT * FROM public.store_scene_image(project_id => %s, scene_id => %s, source_url => %s)"
STORE_MANY = "SELECT * FROM public.store_scene_images(project_id => %s, requests => %s)"
ENQUEUE_MANY = "SELECT count(*) AS n FROM public.enqueue_scene_images(project_id => %s, requests => %s)"


def _rotate(items: list[Any], shift: int) -> list[Any]:
    shift %= len(items)
    return items[shift:] + items[:shift]


def _store_many(conn: psycopg.Connection[Any], project_id: uuid.UUID, urls: list[str]) -> None:
    requests = [{"scene_id": f"scene_{i:04d}", "source_url": url} for i, url in enumerate(urls)]
    rows = conn.execute(STORE_MANY, [project_id, Jsonb(requests)]).fetchall()
    if len(rows) != len(urls):
        raise RuntimeError(f"store_scene_images returned {len(rows)} rows for {len(urls)} requests")


# --- 1. single store overhead ------------------------------------------------------------


def single_store(bench: Bench) -> dict[str, Any]:
    """store_scene_image of one image vs the app-side baseline doing the same work."""
    config = bench.config
    app = AppStore(bench.storage_root, bench.PUBLIC_BASE_URL)
    project = bench.new_project("single store")
    results: dict[str, Any] = {"image_bytes": config.single_size, "by_ttfb_ms": {}}
    with bench.connect() as ours_conn, bench.connect() as app_conn:
        calls = 0

        def ours(ttfb: int) -> None:
            nonlocal calls
            calls += 1
            ours_conn.execute(STORE_ONE, [project, f"ours_{calls}", bench.url(config.single_size, ttfb)]).fetchone()

        def baseline(ttfb: int) -> None:
            nonlocal calls
            calls += 1
            app.store_one(app_conn, project, f"app_{calls}", bench.url(config.single_size, ttfb))

        # Warm-up: imports and prepared statements in the backend, connection state.
        ours(0)
        baseline(0)
        for ttfb in config.ttfbs_ms:
            samples: dict[str, list[float]] = {"store_scene_image": [], "app_baseline": []}
            contenders = [("store_scene_image", ours), ("app_baseline", baseline)]
            for rep in range(config.single_reps):
                for name, run in _rotate(contenders, rep):
                    samples[name].append(timed(partial(run, ttfb)))
            ours_s, base_s = median(samples["store_scene_image"]), median(samples["app_baseline"])
            results["by_ttfb_ms"][str(ttfb)] = {
                "store_scene_image": figure(samples["store_scene_image"]),
                "app_baseline": figure(samples["app_baseline"]),
                "ratio": ratio(ours_s, base_s),
                "overhead_ms": (ours_s - base_s) * 1000,
            }
    bench.drop_objects(project)
    return results


# --- 2 + 3. bulk throughput and the physical limit ----------------------------------------


def bulk(bench: Bench) -> dict[str, Any]:
    """store_scene_images of N images vs the app-side baseline as a sequential loop and as a
    thread pool (the best pool size tried), and vs raw download + write (no database)."""
    config = bench.config
    n = config.bulk_images
    app = AppStore(bench.storage_root, bench.PUBLIC_BASE_URL)
    results: dict[str, Any] = {"images": n, "pool_size": config.bulk_workers, "by_ttfb_ms": {}}
    with bench.connect() as ours_conn, bench.connect() as app_conn:
        _store_many(ours_conn, bench.new_project("bulk warm-up"), [bench.url(1024 * 64, 0)])
        for ttfb in config.ttfbs_ms:
            by_size: dict[str, Any] = {}
            for size in config.bulk_sizes:
                by_size[str(size)] = _bulk_one_size(bench, app, ours_conn, app_conn, ttfb, size)
            results["by_ttfb_ms"][str(ttfb)] = by_size
    return results


def _bulk_one_size(bench: Bench, app: AppStore, ours_conn: psycopg.Connection[Any],
                   app_conn: psycopg.Connection[Any], ttfb: int, size: int) -> dict[str, Any]:
    config = bench.config
    n = config.bulk_images
    samples: dict[str, list[float]] = {"store_scene_images": [], "app_sequential": [], "raw": []}
    samples.update({f"app_pool_{p}": [] for p in config.app_pool_sizes})

    def urls() -> list[str]:
        return [bench.url(size, ttfb) for _ in range(n)]

    def ours() -> float:
        project = bench.new_project(f"bulk {size} B, {ttfb} ms")
        batch = urls()
        elapsed = timed(lambda: _store_many(ours_conn, project, batch))
        bench.drop_objects(project)
        return elapsed

    def sequential() -> float:
        project = bench.new_project(f"bulk sequential {size} B, {ttfb} ms")
        batch = [(f"scene_{i:04d}", u) for i, u in enumerate(urls())]
        elapsed = timed(lambda: app.store_sequential(app_conn, project, batch))
        bench.drop_objects(project)
        return elapsed

    def pooled(pool_size: int) -> float:
        project = bench.new_project(f"bulk pool {pool_size} {size} B, {ttfb} ms")
        batch = [(f"scene_{i:04d}", u) for i, u in enumerate(urls())]
        elapsed = timed(lambda: app.store_pooled(app_conn, project, batch, pool_size))
        bench.drop_objects(project)
        return elapsed

    def raw() -> float:
        directory = bench.storage_root / "raw" / uuid.uuid4().hex
        batch = urls()
        moved = 0

        def run() -> None:
            nonlocal moved
            moved = raw_download_write(batch, directory, config.bulk_workers)

        elapsed = timed(run)
        shutil.rmtree(directory)
        if moved != n * size:
            raise RuntimeError(f"raw download moved {moved} bytes, expected {n * size}")
        return elapsed

    contenders: list[tuple[str, Any]] = [("store_scene_images", ours), ("app_sequential", sequential), ("raw", raw)]
    contenders += [(f"app_pool_{p}", lambda p=p: pooled(p)) for p in config.app_pool_sizes]
    for rep in range(config.reps):
        for name, run in _rotate(contenders, rep):
            samples[name].append(run())

    def rates(seconds: float) -> dict[str, float]:
        return {"images_per_s": n / seconds, "mb_per_s": n * size / seconds / MB}

    figures = {name: figure(s, **rates(median(s))) for name, s in samples.items()}
    best_pool = min(config.app_pool_sizes, key=lambda p: figures[f"app_pool_{p}"]["median"])
    ours_s = figures["store_scene_images"]["median"]
    return {
        **figures,
        "app_pool_best": best_pool,
        "speedup_vs_sequential": ratio(figures["app_sequential"]["median"], ours_s),
        "speedup_vs_best_pool": ratio(figures[f"app_pool_{best_pool}"]["median"], ours_s),
        "percent_of_raw": 100 * (ratio(figures["raw"]["median"], ours_s) or 0),
    }


# --- 4. lookups ---------------------------------------------------------------------------

PGBENCH_SCRIPT = """\
\\set p random(1, :projects)
\\set s random(1, :scenes)
SELECT public.get_scene_image_url(md5(:salt::text || :p::text)::uuid, 'scene_' || :s::text);
"""

LOAD_ROWS = """
INSERT INTO public.scene_images (project_id, scene_id, storage_path, storage_url, file_size, content_type,
    provider, sha256, width, height, version, is_current)
SELECT pr.id, 'scene_' || s, 'projects/' || pr.id || '/scenes/scene_' || s || '.jpg',
       'http://127.0.0.1:54380/bench/projects/' || pr.id || '/scenes/scene_' || s || '.jpg',
       1048576, 'image/jpeg', 'bench', md5(pr.id || '/' || s) || md5(s || '/' || pr.id), 1920, 1080, 1, true
FROM (SELECT md5(%(salt)s::text || p)::uuid AS id FROM generate_series(1, %(projects)s::int) AS p) AS pr,
     generate_series(%(first)s::int, %(last)s::int) AS s
"""


def _bulk_load(bench: Bench, sql: str, params: dict[str, Any]) -> float:
    """Run an INSERT into scene_images with its triggers off (the versioning trigger would
    otherwise run per row; the loader sets version and is_current itself, and masterJSON is
    not synced for these rows). ALTER TABLE is transactional: the triggers are back at COMMIT."""
    with bench.connect() as conn:
        start = time.perf_counter()
        with conn.transaction():
            conn.execute("ALTER TABLE public.scene_images DISABLE TRIGGER USER")
            conn.execute(sql, params)
            conn.execute("ALTER TABLE public.scene_images ENABLE TRIGGER USER")
        conn.execute("VACUUM (ANALYZE) public.scene_images")
        return time.perf_counter() - start


def lookups(bench: Bench) -> dict[str, Any]:
    """get_scene_image_url under pgbench (random project and scene, several clients) on a
    table of each size in lookup_rows; tps should not depend on the size. Sizes cannot
    alternate like the other contenders, so the smallest is measured again after the others
    (the extra rows deleted and the table rewritten): A-B-A, and `drift` shows how much the
    machine moved meanwhile."""
    config = bench.config
    salt = uuid.uuid4().hex
    projects = config.lookup_projects
    rows = bench.admin.execute(
        "INSERT INTO public.projects (id, name) SELECT md5(%s::text || p)::uuid, 'bench: lookups'"
        " FROM generate_series(1, %s::int) AS p RETURNING id", [salt, projects]).fetchall()
    lookup_projects = [row["id"] for row in rows]
    bench.projects.extend(lookup_projects)
    results: dict[str, Any] = {"projects": projects, "clients": config.pgbench_clients,
                               "seconds": config.pgbench_seconds, "by_rows": {}}
    smallest = config.lookup_rows[0]
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="bench-lookup-") as script:
        script.write(PGBENCH_SCRIPT)
        script.flush()

        def measure(target: int) -> tuple[int, list[float]]:
            count = bench.admin.execute("SELECT count(*) AS n FROM public.scene_images").fetchone()
            assert count is not None
            scenes = target // projects
            return count["n"], [_pgbench(bench, script.name, salt, scenes) for _ in range(config.lookup_reps)]

        loaded_scenes = 0
        before: list[float] = []
        for target in config.lookup_rows:
            scenes = target // projects
            load_s = _bulk_load(bench, LOAD_ROWS, {"salt": salt, "projects": projects,
                                                  "first": loaded_scenes + 1, "last": scenes})
            loaded_scenes = scenes
            table_rows, tps = measure(target)
            before = before or tps
            results["by_rows"][str(target)] = {"table_rows": table_rows, "load_s": load_s, "tps": figure(tps)}
        bench.admin.execute(
            "DELETE FROM public.scene_images WHERE project_id = ANY(%s) AND substr(scene_id, 7)::int > %s",
            [lookup_projects, smallest // projects])
        bench.admin.execute("VACUUM FULL public.scene_images")
        bench.admin.execute("ANALYZE public.scene_images")
        _, after = measure(smallest)
    results["by_rows"][str(smallest)]["tps"] = figure(before + after, before=median(before), after=median(after))
    results["drift"] = ratio(median(after), median(before))
    for figures in results["by_rows"].values():
        figures["latency_ms"] = 1000 * config.pgbench_clients / figures["tps"]["median"]
    sizes = [results["by_rows"][str(t)]["tps"]["median"] for t in config.lookup_rows]
    results["ratio_smallest_to_largest"] = ratio(sizes[0], sizes[-1])
    # The other sections should not work on a table of a million rows, nor on its dead space.
    bench.admin.execute("DELETE FROM public.projects WHERE id = ANY(%s)", [lookup_projects])
    bench.projects = [p for p in bench.projects if p not in set(lookup_projects)]
    bench.admin.execute("VACUUM FULL public.scene_images")
    return results


def _pgbench(bench: Bench, script: str, salt: str, scenes: int) -> float:
    config = bench.config
    done = subprocess.run(
        ["pgbench", "-n", "-M", "prepared", "-f", script, "-c", str(config.pgbench_clients),
         "-j", str(min(config.pgbench_clients, 2)), "-T", str(config.pgbench_seconds),
         "-D", f"salt={salt}", "-D", f"projects={config.lookup_projects}", "-D", f"scenes={scenes}"],
        capture_output=True, text=True, env=bench.child_env(), check=False,
    )
    found = re.search(r"^tps = ([0-9.]+)", done.stdout, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", done.stdout, re.M)
    if done.returncode != 0 or found is None or (failed is not None and int(failed.group(1))):
        raise RuntimeError(f"pgbench failed: {done.stdout}{done.stderr}")
    return float(found.group(1))


# --- 5. versioning cost -------------------------------------------------------------------

LOAD_VERSIONS = """
INSERT INTO public.scene_images (project_id, scene_id, storage_path, storage_url, file_size, content_type,
    provider, sha256, width, height, version, is_current)
SELECT %(project)s::uuid, 'scene_1', 'projects/' || %(project)s::text || '/scenes/scene_1_v' || v || '.jpg',
       'http://127.0.0.1:54380/bench/projects/' || %(project)s::text || '/scenes/scene_1_v' || v || '.jpg',
       1048576, 'image/jpeg', 'bench', md5(v::text) || md5(v::text), 64, 48, v, v = %(depth)s
FROM generate_series(1, %(depth)s::int) AS v
"""


def versioning(bench: Bench) -> dict[str, Any]:
    """Insert version n+1 of a scene with n earlier versions (the store path's INSERT, the
    versioning trigger, the masterJSON sync at commit), for each n in version_depths."""
    config = bench.config
    projects = {}
    for depth in config.version_depths:
        projects[depth] = bench.new_project(f"versions {depth}")
        _bulk_load(bench, LOAD_VERSIONS, {"project": str(projects[depth]), "depth": depth})
    samples: dict[int, list[float]] = {depth: [] for depth in config.version_depths}
    with bench.connect() as conn:
        for i in range(config.version_inserts):
            for depth in _rotate(list(config.version_depths), i):
                project = projects[depth]
                path = f"projects/{project}/scenes/scene_1_new{i}.jpg"
                params = [project, "scene_1", path, f"{bench.PUBLIC_BASE_URL}/{path}", 1048576, None,
                          Jsonb({}), f"{i:064x}", 64, 48]
                samples[depth].append(timed(partial(conn.execute, INSERT, params)))
        checks = conn.execute(
            "SELECT project_id, max(version) AS top, count(*) FILTER (WHERE is_current) AS current"
            " FROM public.scene_images WHERE project_id = ANY(%s) GROUP BY project_id",
            [list(projects.values())]).fetchall()
    for check in checks:
        depth = next(d for d, p in projects.items() if p == check["project_id"])
        if check["top"] != depth + config.version_inserts or check["current"] != 1:
            raise RuntimeError(f"versioning went wrong at depth {depth}: {check}")
    medians = {depth: median(s) for depth, s in samples.items()}
    first = medians[config.version_depths[0]]
    return {
        "inserts_per_depth": config.version_inserts,
        "by_depth": {str(d): figure(s, ratio_to_first=ratio(medians[d], first)) for d, s in samples.items()},
        "ratio_deepest_to_first": ratio(medians[config.version_depths[-1]], first),
    }


# --- 6. memory ----------------------------------------------------------------------------


def _proc_status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def memory(bench: Bench) -> dict[str, Any]:
    """Peak RSS growth of the backend: VmHWM after the store minus VmRSS before it, in a session
    already warmed by a small store (imports, thread pool). Once for one big image
    (store_scene_image), once for a bulk of many big images in one store_scene_images call
    (what bulk_max_bytes_held bounds)."""
    config = bench.config
    size = config.memory_size
    growth, retained = [], []
    bulk_growth, bulk_retained = [], []
    bulk_n, bulk_size = config.memory_bulk_images, config.memory_bulk_size
    for rep in range(config.reps):
        project = bench.new_project("memory")
        with bench.connect() as conn:
            pid = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]  # type: ignore[index]
            conn.execute(STORE_ONE, [project, "warm_up", bench.url(1024 * 1024, 0)]).fetchone()
            before = _proc_status(pid)
            conn.execute(STORE_ONE, [project, f"big_{rep}", bench.url(size, 0)]).fetchone()
            after = _proc_status(pid)
        growth.append(after["VmHWM"] - before["VmRSS"])
        retained.append(after["VmRSS"] - before["VmRSS"])
        bench.drop_objects(project)

        project = bench.new_project("memory bulk")
        with bench.connect() as conn:
            pid = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]  # type: ignore[index]
            _store_many(conn, project, [bench.url(1024 * 1024, 0)])  # warm-up: imports, the pool
            before = _proc_status(pid)
            _store_many(conn, project, [bench.url(bulk_size, 0) for _ in range(bulk_n)])
            after = _proc_status(pid)
        bulk_growth.append(after["VmHWM"] - before["VmRSS"])
        bulk_retained.append(after["VmRSS"] - before["VmRSS"])
        bench.drop_objects(project)
    peak = median(growth)
    limits = bench.admin.execute(
        "SELECT value FROM scene_images_internal.settings WHERE name = 'limits'").fetchone()
    return {
        "image_bytes": size,
        "peak_growth_bytes": figure(growth),
        "retained_growth_bytes": figure(retained),
        "peak_growth_per_image_size": peak / size,
        "bulk": {
            "images": bulk_n,
            "image_bytes": bulk_size,
            "bulk_max_bytes_held": (limits["value"].get("bulk_max_bytes_held") if limits else None),
            "peak_growth_bytes": figure(bulk_growth),
            "retained_growth_bytes": figure(bulk_retained),
        },
    }


# --- 7. queue scaling ---------------------------------------------------------------------


def queue(bench: Bench, worker_command: list[str]) -> dict[str, Any]:
    """Jobs/s of `scene-images worker --drain` with 1, 2, 4, 8 processes on N queued jobs,
    against store_scene_images on the same kind of images. `wall` counts from starting the
    processes to the last one exiting (start-up included); `steady` from the first to the last
    completed job."""
    config = bench.config
    n, size, ttfb = config.queue_jobs, config.queue_size, config.queue_ttfb_ms
    samples: dict[str, list[float]] = {f"workers_{p}": [] for p in config.queue_processes}
    steady: dict[str, list[float]] = {f"workers_{p}": [] for p in config.queue_processes}
    samples["store_scene_images"] = []
    with bench.connect() as conn:
        _store_many(conn, bench.new_project("queue warm-up"), [bench.url(1024 * 64, 0)])
        for rep in range(config.reps):
            for processes in _rotate(list(config.queue_processes), rep):
                wall, span = _drain(bench, conn, worker_command, processes, n, size, ttfb)
                samples[f"workers_{processes}"].append(wall)
                steady[f"workers_{processes}"].append(span)
            samples["store_scene_images"].append(_timed_bulk(bench, conn, n, size, ttfb))
    sync_rate = n / median(samples["store_scene_images"])
    results: dict[str, Any] = {
        "jobs": n, "image_bytes": size, "ttfb_ms": ttfb, "concurrency_per_process": config.queue_concurrency,
        "store_scene_images": figure(samples["store_scene_images"], jobs_per_s=sync_rate),
        "by_processes": {},
    }
    for processes in config.queue_processes:
        key = f"workers_{processes}"
        wall_rate = n / median(samples[key])
        results["by_processes"][str(processes)] = {
            "wall": figure(samples[key], jobs_per_s=wall_rate),
            "steady": figure(steady[key], jobs_per_s=(n - 1) / median(steady[key])),
            "ratio_to_store_scene_images": wall_rate / sync_rate,
        }
    return results


def _timed_bulk(bench: Bench, conn: psycopg.Connection[Any], n: int, size: int, ttfb: int) -> float:
    project = bench.new_project("queue sync")
    batch = [bench.url(size, ttfb) for _ in range(n)]
    elapsed = timed(lambda: _store_many(conn, project, batch))
    bench.drop_objects(project)
    return elapsed


def _drain(bench: Bench, conn: psycopg.Connection[Any], worker_command: list[str], processes: int,
           n: int, size: int, ttfb: int) -> tuple[float, float]:
    counts = conn.execute("SELECT public.get_scene_image_queue_counts() AS c").fetchone()["c"]  # type: ignore[index]
    if counts["queued"] or counts["running"]:
        raise RuntimeError(f"the queue is not empty before the run: {counts}")
    project = bench.new_project(f"queue {processes} workers")
    requests = [{"scene_id": f"scene_{i:04d}", "source_url": bench.url(size, ttfb)} for i in range(n)]
    conn.execute(ENQUEUE_MANY, [project, Jsonb(requests)])
    command = [*worker_command, "--drain", "--concurrency", str(bench.config.queue_concurrency)]
    start = time.perf_counter()
    workers = [subprocess.Popen(command, env=bench.child_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    errors = [w.communicate(timeout=600)[1] for w in workers]
    wall = time.perf_counter() - start
    if any(w.returncode for w in workers):
        raise RuntimeError(f"a worker failed: {' | '.join(e[-2000:] for e in errors)}")
    stats = conn.execute(
        "SELECT count(*) FILTER (WHERE j.status = 'stored') AS stored, count(*) AS total,"
        " extract(epoch FROM max(si.generated_at) - min(si.generated_at))::float8 AS span"
        " FROM scene_images_internal.scene_image_jobs AS j LEFT JOIN public.scene_images AS si"
        " ON si.id = j.scene_image_id WHERE j.project_id = %s", [project]).fetchone()
    assert stats is not None
    if stats["stored"] != n:
        raise RuntimeError(f"{stats['stored']} of {n} jobs stored by {processes} workers")
    bench.drop_objects(project)
    return wall, stats["span"]
