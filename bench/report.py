"""The results as a Markdown table (bench/results/latest.md, and what `make bench` prints)."""

from __future__ import annotations

from typing import Any

KIB = 1024
MIB = 1024 * KIB


def size_label(size: int | str) -> str:
    size = int(size)
    return f"{size // MIB} MiB" if size % MIB == 0 else f"{size // KIB} KiB"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# scene-images benchmarks" + (" (BENCH_QUICK: smoke figures only)" if results["config"]["quick"] else ""),
        "",
        f"{results['finished_at']} · {m['nproc']} cores ({m['cpu_model']}), {m['ram_gib']} GiB RAM, "
        f"PostgreSQL {m['postgresql']}, Python {m['python_app']} (app) / {m['python_server']} (PL/Python) · "
        f"load average at start {', '.join(f'{v:.2f}' for v in m['load_average_at_start'])}",
        "",
        "Every figure is the median of the repetitions in the JSON; ratios compare contenders measured "
        "in the same run, alternating inside each repetition. MB = 10^6 bytes.",
        "",
        "| # | measurement | figure | target | |",
        "|---|---|---|---|---|",
    ]
    rows: list[tuple[str, str, str, str, str]] = []
    single = results.get("single_store")
    if single:
        for ttfb, r in single["by_ttfb_ms"].items():
            rows.append((
                "1", f"single store {size_label(single['image_bytes'])}, TTFB {ttfb} ms",
                f"store_scene_image {_ms(r['store_scene_image']['median'])} vs app {_ms(r['app_baseline']['median'])}"
                f" = **{_x(r['ratio'])}** ({r['overhead_ms']:+.1f} ms)",
                "<= 1.1x", _verdict(r["ratio"] <= 1.1)))
    bulk = results.get("bulk")
    if bulk:
        for ttfb, by_size in bulk["by_ttfb_ms"].items():
            for size, r in by_size.items():
                best = f"app_pool_{r['app_pool_best']}"
                ours = r["store_scene_images"]
                rows.append((
                    "2", f"bulk {bulk['images']} x {size_label(size)}, TTFB {ttfb} ms",
                    f"store_scene_images {ours['images_per_s']:.0f} img/s, {ours['mb_per_s']:.0f} MB/s; "
                    f"sequential {r['app_sequential']['images_per_s']:.1f} img/s"
                    f" → **{_x(r['speedup_vs_sequential'])}**; best pool ({r['app_pool_best']})"
                    f" {r[best]['images_per_s']:.0f} img/s → **{_x(r['speedup_vs_best_pool'])}**",
                    ">= 10x sequential at 50 ms" if ttfb == "50" else "",
                    _verdict(r["speedup_vs_sequential"] >= 10) if ttfb == "50" else ""))
                rows.append((
                    "3", f"physical limit {bulk['images']} x {size_label(size)}, TTFB {ttfb} ms",
                    f"raw download+write {r['raw']['images_per_s']:.0f} img/s, {r['raw']['mb_per_s']:.0f} MB/s; "
                    f"bulk store at **{r['percent_of_raw']:.0f} %**",
                    ">= 85 %", _verdict(r["percent_of_raw"] >= 85)))
    lookups = results.get("lookups")
    if lookups:
        tps = ", ".join(f"{int(n):,} rows {r['tps']['median']:.0f} tps" for n, r in lookups["by_rows"].items())
        rows.append((
            "4", f"get_scene_image_url, pgbench {lookups['clients']} clients x {lookups['seconds']} s",
            f"{tps}: ratio **{_x(lookups['ratio_smallest_to_largest'])}** (smallest measured before and after"
            f" the largest; drift {_x(lookups['drift'])})", "<= 1.1x",
            _verdict(lookups["ratio_smallest_to_largest"] <= 1.1)))
    versioning = results.get("versioning")
    if versioning:
        times = ", ".join(f"n={int(d):,} {_ms(r['median'])}" for d, r in versioning["by_depth"].items())
        rows.append((
            "5", "insert version n+1 (trigger + masterJSON sync)",
            f"{times}: ratio **{_x(versioning['ratio_deepest_to_first'])}**", "flat (<= 1.1x)",
            _verdict(versioning["ratio_deepest_to_first"] <= 1.1)))
    memory = results.get("memory")
    if memory:
        rows.append((
            "6", f"backend peak RSS growth, one {size_label(memory['image_bytes'])} image",
            f"{memory['peak_growth_bytes']['median'] / MIB:.1f} MiB"
            f" = **{memory['peak_growth_per_image_size']:.2f}x** the image "
            f"(retained after: {memory['retained_growth_bytes']['median'] / MIB:.1f} MiB)",
            "< 3x", _verdict(memory["peak_growth_per_image_size"] < 3)))
        bulk_memory = memory.get("bulk")
        if bulk_memory:
            cap = bulk_memory.get("bulk_max_bytes_held")
            peak_mib = bulk_memory["peak_growth_bytes"]["median"] / MIB
            rows.append((
                "6", f"backend peak RSS growth, bulk {bulk_memory['images']} x {size_label(bulk_memory['image_bytes'])}",
                f"**{peak_mib:.1f} MiB** (retained after: {bulk_memory['retained_growth_bytes']['median'] / MIB:.1f} MiB);"
                f" bulk_max_bytes_held {'not set' if cap is None else f'{cap / MIB:.0f} MiB'}",
                "<= cap + 64 MiB" if cap is not None else "",
                _verdict(peak_mib <= cap / MIB + 64) if cap is not None else ""))
    queue = results.get("queue")
    if queue:
        sync = queue["store_scene_images"]["jobs_per_s"]
        for processes, r in queue["by_processes"].items():
            rows.append((
                "7", f"queue: {processes} worker process(es) x {queue['concurrency_per_process']} slots, "
                     f"{queue['jobs']} x {size_label(queue['image_bytes'])}, TTFB {queue['ttfb_ms']} ms",
                f"**{r['wall']['jobs_per_s']:.0f} jobs/s** (steady {r['steady']['jobs_per_s']:.0f}); "
                f"store_scene_images {sync:.0f} img/s → {_x(r['ratio_to_store_scene_images'])}",
                "", ""))
    lines += [f"| {' | '.join(row)} |" for row in rows]
    if results.get("notes"):
        lines += ["", *[f"- {note}" for note in results["notes"]]]
    return "\n".join(lines) + "\n"
