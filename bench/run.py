"""`make bench`: run every measurement, print the table, write bench/results/latest.{json,md}.

Environment: the PG* variables name the database (make bench uses scene_images_bench, a
database the bench owns: it reconfigures its storage and fetch settings). BENCH_QUICK=1 runs
a short smoke version and writes bench/results/quick.{json,md} instead; BENCH_ONLY=a,b runs
only the named sections (single, bulk, lookups, versioning, memory, queue).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report  # noqa: E402
import sections  # noqa: E402
from harness import ROOT, Bench, Config, as_dict, bench_session, machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
STORAGE_ROOT = ROOT / "var" / "bench-storage"

NOTES = [
    "Image source: bench/source.py in its own process (the tests' ImageSourceServer), 127.0.0.1, one new "
    "connection per image, JPEGs of exact sizes with a per-URL comment so no two share a sha256.",
    "Storage: the file backend on a root of its own (var/bench-storage); every contender fsyncs each file "
    "(the file backend also writes a temporary name, links it and fsyncs the directory).",
    "App-side baselines: requests + hashlib + file write + psycopg INSERT of the same row (the versioning "
    "trigger and the masterJSON sync run for them too); they do not sniff the image. The pool version "
    "downloads and writes in a thread pool and inserts every row in one transaction.",
    "Raw: http.client GET + file write in a thread pool of the bulk function's size, no database.",
    "Lookups and versioning: rows are bulk-loaded by INSERT ... SELECT generate_series with the table's "
    "user triggers disabled inside the loading transaction (version and is_current set by the loader, "
    "masterJSON not synced for them), then VACUUM ANALYZE; pgbench runs as the superuser "
    "(-M prepared, one random project and scene per transaction). The smallest table is measured before "
    "and after the largest (extra rows deleted, table rewritten): its figure pools both.",
    "Memory: VmHWM after the store minus VmRSS before it, of the backend (/proc), in a session warmed up "
    "by a 1 MiB store.",
    "Queue: wall = from starting the worker processes to the last one exiting (start-up included); "
    "steady = completed jobs over the time between the first and the last completion.",
]


def worker_command() -> list[str]:
    """`scene-images worker` from the venv running us; fails early when the CLI lacks it."""
    command = [str(Path(sys.executable).parent / "scene-images"), "worker"]
    check = subprocess.run([*command, "--help"], capture_output=True, text=True, check=False)
    if check.returncode != 0 or "--drain" not in check.stdout:
        raise RuntimeError(f"{' '.join(command)} --drain is not available: {check.stderr.strip()}")
    return command


def run(config: Config, storage_root: Path, dbname: str | None = None,
        only: set[str] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every section (or those in `only`), as the results document."""
    # Lookups first: their table sizes are then exactly the rows they load.
    plan: list[tuple[str, Callable[[Bench], dict[str, Any]]]] = [
        ("lookups", sections.lookups),
        ("versioning", sections.versioning),
        ("single_store", sections.single_store),
        ("bulk", sections.bulk),
        ("memory", sections.memory),
    ]
    if only is None or "queue" in only:
        command = worker_command()
        plan.append(("queue", lambda bench: sections.queue(bench, command)))
    results: dict[str, Any] = {"config": as_dict(config), "notes": NOTES, "seconds": {}}
    started = time.perf_counter()
    with bench_session(config, storage_root, dbname) as bench:
        results["machine"] = machine(bench.admin)
        for name, section in plan:
            if only is not None and name.split("_")[0] not in only:
                continue
            log(f"bench: {name} ...")
            section_start = time.perf_counter()
            results[name] = section(bench)
            results["seconds"][name] = round(time.perf_counter() - section_start, 1)
            log(f"bench: {name} done in {results['seconds'][name]} s")
    results["seconds"]["total"] = round(time.perf_counter() - started, 1)
    results["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return results


def main() -> int:
    config = Config.from_environment()
    only_text = os.environ.get("BENCH_ONLY", "")
    only = {name.strip() for name in only_text.split(",") if name.strip()} or None
    results = run(config, STORAGE_ROOT, only=only)
    table = report.render(results)
    RESULTS.mkdir(exist_ok=True)
    stem = "quick" if config.quick else "latest"
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(table)
    print(table)
    print(f"written: {RESULTS / f'{stem}.json'} and {RESULTS / f'{stem}.md'} ({results['seconds']['total']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
