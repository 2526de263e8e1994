"""Where the time goes inside store_scene_image(s): timestamps in the PL/Python path.

`python bench/phases.py [single|bulk] SIZE TTFB_MS N` (PG* environment; the bench database)
runs the store inside a session-local PL/Python function that wraps, for that backend only,
the pipeline's steps (fetch, inspect, sha256 + prepare, backend.put) and every plpy.execute with
timers, then prints per-step totals: seconds summed over the worker threads for the threaded
steps, and wall seconds on the main thread for the statements. COMMIT (the deferred masterJSON
sync) is timed from the client. Nothing is changed for other sessions.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, Config, bench_session  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

# pg_temp: the function exists only for this session.
PROFILED = """
CREATE FUNCTION pg_temp.profiled_store(project_id uuid, requests jsonb) RETURNS text
LANGUAGE plpython3u AS $fn$
import json, threading, time
from collections import defaultdict
from scene_images_core import pipeline
from scene_images_core.backends import file as file_backend
from scene_images_plpy import store

totals = defaultdict(float)
counts = defaultdict(int)
lock = threading.Lock()

def timer(name, fn):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            with lock:
                totals[name] += time.perf_counter() - start
                counts[name] += 1
    return timed

class Plpy:
    # plpy with every execute timed by the statement's first words
    def __init__(self, real):
        self._real = real
        self._names = {}
    def __getattr__(self, name):
        return getattr(self._real, name)
    def prepare(self, sql, types=None):
        plan = self._real.prepare(sql, types or [])
        self._names[id(plan)] = " ".join(sql.split()[:4])[:60]
        return plan
    def execute(self, plan, args=None):
        name = "sql: " + self._names.get(id(plan), str(plan)[:40])
        return timer(name, lambda: self._real.execute(plan, args) if args is not None else self._real.execute(plan))()

originals = (pipeline.fetch, pipeline.inspect_image, pipeline.prepare, pipeline.store,
             file_backend.FileBackend.put, pipeline.run_concurrently)
pipeline.fetch = timer("thread: fetch (download)", pipeline.fetch)
pipeline.inspect_image = timer("thread: inspect_image (sniff)", pipeline.inspect_image)
pipeline.prepare = timer("thread: prepare (fetch+sniff+sha256)", pipeline.prepare)
pipeline.store = timer("thread: store (path + put)", pipeline.store)
file_backend.FileBackend.put = timer("thread: FileBackend.put", file_backend.FileBackend.put)
pipeline.run_concurrently = timer("main: run_concurrently (wall)", pipeline.run_concurrently)
try:
    # A private SD: prepared statements are made through the proxy, so they get names.
    start = time.perf_counter()
    rows = store.store_many(Plpy(plpy), {}, project_id, requests)
    totals["main: store_many (wall)"] = time.perf_counter() - start
finally:
    (pipeline.fetch, pipeline.inspect_image, pipeline.prepare, pipeline.store,
     file_backend.FileBackend.put, pipeline.run_concurrently) = originals
return json.dumps({"rows": len(rows), "totals": totals, "counts": counts})
$fn$;
"""


def main() -> int:
    mode, size, ttfb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    if mode not in ("single", "bulk"):
        raise SystemExit("usage: phases.py single|bulk SIZE TTFB_MS N")
    with bench_session(Config.quick_run(), ROOT / "var" / "bench-storage") as bench, bench.connect() as conn:
        conn.execute(PROFILED)
        warm = bench.new_project("profile warm-up")
        conn.execute("SELECT pg_temp.profiled_store(%s, %s)",
                     [warm, Jsonb([{"scene_id": "w", "source_url": bench.url(65536, 0)}])])
        project = bench.new_project("profile")
        batches = [[i] for i in range(n)] if mode == "single" else [list(range(n))]
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        commit_s = wall_s = 0.0
        for batch in batches:
            requests = [{"scene_id": f"scene_{i:04d}", "source_url": bench.url(size, ttfb)} for i in batch]
            start = time.perf_counter()
            conn.execute("BEGIN")
            answer = json.loads(conn.execute("SELECT pg_temp.profiled_store(%s, %s) AS r",
                                             [project, Jsonb(requests)]).fetchone()["r"])  # type: ignore[index]
            before_commit = time.perf_counter()
            conn.execute("COMMIT")
            commit_s += time.perf_counter() - before_commit
            wall_s += time.perf_counter() - start
            for name, seconds in answer["totals"].items():
                totals[name] = totals.get(name, 0.0) + seconds
                counts[name] = counts.get(name, 0) + answer["counts"].get(name, 1)
        bench.drop_objects(project)
    print(f"{mode} {n} x {size} B at TTFB {ttfb} ms: client wall {wall_s * 1000:.1f} ms,"
          f" COMMIT {commit_s * 1000:.1f} ms")
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {seconds * 1000:9.1f} ms  {counts[name]:4d} calls  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
