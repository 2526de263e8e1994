"""`make bench` in miniature: every section of bench/run.py on tiny sizes, in a database of its
own, checked for well-formed results and real effects (rows, files, queue) — never for speed."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import report  # noqa: E402
import run  # noqa: E402
from harness import KIB, MIB, Config  # noqa: E402
from source import SourceProcess, jpeg_of_size  # noqa: E402

from scene_images_core.sniff import inspect_image  # noqa: E402

SMOKE_DB = "scene_images_bench_smoke"

# BENCH_QUICK, shrunk further: seconds, not minutes.
CONFIG = dataclasses.replace(
    Config.quick_run(), reps=2, single_reps=2, bulk_images=4, bulk_sizes=(64 * KIB,), app_pool_sizes=(4,),
    lookup_rows=(100, 1_000), lookup_projects=10, pgbench_seconds=1, version_depths=(1, 10),
    version_inserts=3, memory_size=4 * MIB, memory_bulk_images=3, memory_bulk_size=MIB, queue_processes=(1, 2),
    queue_jobs=6, queue_size=64 * KIB,
)


def _cluster(*args: str) -> None:
    done = subprocess.run([str(ROOT / "scripts" / "cluster.sh"), *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def smoke_db() -> Iterator[str]:
    """A freshly deployed database: the bench reconfigures storage and fetch settings and runs
    queue workers that drain every job, which must not touch other tests' database."""
    _cluster("dropdb", SMOKE_DB)
    _cluster("createdb", SMOKE_DB)
    deployed = subprocess.run([str(ROOT / "scripts" / "sqitch.sh"), SMOKE_DB, "deploy"],
                              capture_output=True, text=True, check=False)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    yield SMOKE_DB
    _cluster("dropdb", SMOKE_DB)


@pytest.fixture(scope="module")
def storage_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="bench-smoke-", dir=ROOT / "var"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def results(smoke_db: str, storage_root: Path) -> dict[str, Any]:
    return run.run(CONFIG, storage_root, smoke_db, log=lambda _message: None)


def _is_figure(value: Any, count: int) -> bool:
    return (isinstance(value, dict) and len(value["samples"]) == count
            and all(s > 0 for s in value["samples"]) and value["median"] > 0)


def test_bench_source_serves_exact_size_jpegs_unique_per_token() -> None:
    with SourceProcess() as source:
        first = urllib.request.urlopen(source.url(64 * KIB, "a", 0), timeout=10).read()
        second = urllib.request.urlopen(source.url(64 * KIB, "b", 50), timeout=10).read()
    assert len(first) == len(second) == 64 * KIB
    assert first == jpeg_of_size(64 * KIB, "a") != second
    assert inspect_image(first, 10**8).content_type == "image/jpeg"


def test_bench_run_describes_the_machine_and_config(results: dict[str, Any]) -> None:
    machine = results["machine"]
    assert machine["nproc"] >= 1 and machine["cpu_model"] and machine["ram_gib"] > 0
    assert machine["postgresql"].startswith("15")
    assert machine["python_app"].count(".") == 2 and machine["python_server"].count(".") == 2
    assert results["config"] == dataclasses.asdict(CONFIG)
    json.dumps(results)  # the results file is JSON


def test_bench_single_store_compares_both_ttfbs_against_the_baseline(results: dict[str, Any]) -> None:
    single = results["single_store"]
    assert set(single["by_ttfb_ms"]) == {"0", "50"}
    for figures in single["by_ttfb_ms"].values():
        ours, base = figures["store_scene_image"], figures["app_baseline"]
        assert _is_figure(ours, CONFIG.single_reps) and _is_figure(base, CONFIG.single_reps)
        assert figures["ratio"] == pytest.approx(ours["median"] / base["median"])


def test_bench_bulk_measures_every_contender_per_size(results: dict[str, Any]) -> None:
    bulk = results["bulk"]
    for by_size in bulk["by_ttfb_ms"].values():
        figures = by_size[str(64 * KIB)]
        for name in ("store_scene_images", "app_sequential", "raw", "app_pool_4"):
            assert _is_figure(figures[name], CONFIG.reps)
            assert figures[name]["images_per_s"] == pytest.approx(CONFIG.bulk_images / figures[name]["median"])
        assert figures["app_pool_best"] == 4
        assert figures["percent_of_raw"] == pytest.approx(
            100 * figures["raw"]["median"] / figures["store_scene_images"]["median"])


def test_bench_lookups_run_pgbench_on_each_table_size(results: dict[str, Any]) -> None:
    lookups = results["lookups"]
    assert list(lookups["by_rows"]) == ["100", "1000"]
    for rows, figures in lookups["by_rows"].items():
        assert figures["table_rows"] >= int(rows)
        assert _is_figure(figures["tps"], CONFIG.lookup_reps * (2 if rows == "100" else 1))
    assert lookups["ratio_smallest_to_largest"] > 0 and lookups["drift"] > 0


def test_bench_versioning_times_each_depth(results: dict[str, Any]) -> None:
    versioning = results["versioning"]
    assert list(versioning["by_depth"]) == ["1", "10"]
    assert all(_is_figure(f, CONFIG.version_inserts) for f in versioning["by_depth"].values())
    assert versioning["by_depth"]["1"]["ratio_to_first"] == 1


def test_bench_memory_reads_the_backend_growth(results: dict[str, Any]) -> None:
    memory = results["memory"]
    assert memory["image_bytes"] == 4 * MIB
    assert len(memory["peak_growth_bytes"]["samples"]) == CONFIG.reps
    assert memory["peak_growth_bytes"]["median"] > 0  # a 4 MiB image was resident at some point
    assert memory["peak_growth_per_image_size"] == pytest.approx(memory["peak_growth_bytes"]["median"] / (4 * MIB))


def test_bench_queue_drains_with_each_worker_count(results: dict[str, Any]) -> None:
    queue = results["queue"]
    assert list(queue["by_processes"]) == ["1", "2"]
    for figures in queue["by_processes"].values():
        assert _is_figure(figures["wall"], CONFIG.reps) and figures["wall"]["jobs_per_s"] > 0
    assert _is_figure(queue["store_scene_images"], CONFIG.reps)


def test_bench_run_leaves_no_projects_or_objects(results: dict[str, Any], smoke_db: str, storage_root: Path) -> None:
    with psycopg.connect(dbname=smoke_db) as conn:
        left = conn.execute("SELECT count(*) FROM public.projects WHERE name LIKE 'bench:%'").fetchone()
        jobs = conn.execute("SELECT count(*) FROM scene_images_internal.scene_image_jobs").fetchone()
    assert left == (0,) and jobs == (0,)
    assert not [p for p in (storage_root / "projects").rglob("*") if p.is_file()]


def test_bench_report_has_a_row_for_every_measurement(results: dict[str, Any]) -> None:
    table = report.render(results)
    numbers = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "---" not in line}
    assert numbers == {"#", "1", "2", "3", "4", "5", "6", "7"}
