"""`scene-images`: the SQL API from the shell; EXAMPLES below is the user's summary."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import NullConnectionPool
from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs shipped

from .bulk_input import FORMATS, InputError, parse_requests
from .errors import SceneImageError
from .models import SceneImage, SceneImageRequest
from .store import SceneImageStore

DEFAULT_CHUNK_SIZE = 10
MAX_CHUNK_SIZE = 200  # the server's limit on one store_scene_images call

Command = Callable[[SceneImageStore, argparse.Namespace], int]

EXAMPLES = """\
examples:
  eval "$(make -s env)"                       # the PG* environment of the private cluster
  P=$(scene-images create-project --name demo)
  scene-images store "$P" scene_01 https://v3.fal.media/files/abc.jpg --prompt "a lighthouse"
  scene-images bulk "$P" master.json --url-field image_url --chunk-size 20
  scene-images history "$P" scene_01
  scene-images rollback "$P" scene_01 1
  scene-images configure-fetch --allowed-host '*.fal.media' --max-bytes 26214400

The database is --dsn or the PG* environment. Exit status: 0 ok; 1 a database error,
printed as "error [SQLSTATE] message"; 2 bad usage or unreadable input.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with _store(args.dsn) as store:
            code: int = args.command(store, args)
            return code
    except SceneImageError as exc:
        return _fail(f"error {exc}")
    except psycopg.Error as exc:
        return _fail(f"error [{_sqlstate(exc)}] {_one_line(exc)}")
    except InputError as exc:
        return _fail(f"error: {exc}", code=2)


@contextmanager
def _store(dsn: str | None) -> Iterator[SceneImageStore]:
    # A null pool connects when a call needs it, in the caller's thread, so a bad DSN fails at
    # once with libpq's own message (a regular pool would retry in the background and time out).
    with NullConnectionPool(dsn or "", open=True) as pool:
        yield SceneImageStore(pool=pool)


# --- commands -------------------------------------------------------------------------------


def _cmd_create_project(store: SceneImageStore, args: argparse.Namespace) -> int:
    master = _read_json_arg(args.master_json) if args.master_json else None
    project = store.create_project(args.name, master)
    print(_to_json(project) if args.json else project.id)
    return 0


def _request(args: argparse.Namespace) -> SceneImageRequest:
    return SceneImageRequest(
        scene_id=args.scene_id,
        source_url=args.source_url,
        prompt=args.prompt,
        provider=args.provider,
        metadata=_read_json_arg(args.metadata) if args.metadata else {},
    )


def _cmd_store(store: SceneImageStore, args: argparse.Namespace) -> int:
    _print_image(store.download_and_store(args.project_id, _request(args)), args.json)
    return 0


def _cmd_enqueue(store: SceneImageStore, args: argparse.Namespace) -> int:
    job = store.enqueue(args.project_id, _request(args))
    print(_to_json(job) if args.json else job.id)
    return 0


def _cmd_job(store: SceneImageStore, args: argparse.Namespace) -> int:
    job = store.retry_job(args.job_id) if args.retry else store.get_job(args.job_id)
    if args.json:
        print(_to_json(job))
    else:
        error = f"[{job.last_error_sqlstate}] {job.last_error}" if job.last_error_sqlstate else ""
        _print_table(
            ["job", "scene", "status", "attempts", "row", "last error"],
            [[str(job.id), job.scene_id, job.status, f"{job.attempts}/{job.max_attempts}",
              str(job.scene_image_id or ""), error]],
        )
    return 0


def _cmd_sweep(store: SceneImageStore, args: argparse.Namespace) -> int:
    paths = store.sweep_orphans(timedelta(seconds=args.older_than), dry_run=not args.delete)
    for path in paths:
        print(path)
    print(f"{len(paths)} orphaned object(s) {'removed' if args.delete else 'found (use --delete to remove)'}",
          file=sys.stderr)
    return 0


def _cmd_bulk(store: SceneImageStore, args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else _read_file(args.file)
    requests = parse_requests(
        text, args.format, name=args.file, url_field=args.url_field, prompt_field=args.prompt_field
    )
    stored: list[SceneImage] = []
    try:
        # One call, and so one transaction, per chunk: the bar moves, and a failure keeps
        # every chunk stored before it. A chunk takes a store call, so drawing after every
        # one (mininterval=0, miniters=1) costs nothing and never skips a frame.
        with tqdm(total=len(requests), unit="image", desc="storing", disable=None, file=sys.stderr,
                  mininterval=0, miniters=1) as bar:
            for start in range(0, len(requests), args.chunk_size):
                chunk = requests[start : start + args.chunk_size]
                stored.extend(store.download_and_store_bulk(args.project_id, chunk))
                bar.update(len(chunk))
    finally:
        if stored or args.json:
            _print_images(stored, args.json)
    return 0


def _cmd_url(store: SceneImageStore, args: argparse.Namespace) -> int:
    url = store.get_current_image_url(args.project_id, args.scene_id)
    if url is None:
        return _fail(f"error: scene {args.scene_id} of project {args.project_id} has no image")
    print(url)
    return 0


def _cmd_history(store: SceneImageStore, args: argparse.Namespace) -> int:
    images = store.history(args.project_id, args.scene_id)
    if args.json:
        print(_to_json(images))
    else:
        _print_table(
            ["version", "current", "size", "dimensions", "type", "generated", "permanent URL"],
            [
                [str(i.version), "*" if i.is_current else "", _size(i.file_size), f"{i.width}x{i.height}",
                 i.content_type, i.generated_at.isoformat(timespec="seconds"), i.storage_url]
                for i in images
            ],
        )
    return 0


def _cmd_rollback(store: SceneImageStore, args: argparse.Namespace) -> int:
    _print_image(store.set_current(args.project_id, args.scene_id, args.version), args.json)
    return 0


def _cmd_master_json(store: SceneImageStore, args: argparse.Namespace) -> int:
    print(json.dumps(store.master_json(args.project_id), indent=2))
    return 0


def _cmd_configure_storage(store: SceneImageStore, args: argparse.Namespace) -> int:
    settings = _read_json_arg(args.settings) if args.settings else {}
    settings.update(args.set)
    print(json.dumps(store.configure_storage(args.backend, settings), indent=2))
    return 0


def _cmd_configure_fetch(store: SceneImageStore, args: argparse.Namespace) -> int:
    settings = _read_json_arg(args.settings) if args.settings else {}
    flags = {
        "allowed_hosts": args.allowed_hosts,
        "allow_private_networks": args.allow_private_networks,
        "max_bytes": args.max_bytes,
        "timeout_s": args.timeout_s,
        "max_redirects": args.max_redirects,
        "max_pixels": args.max_pixels,
    }
    settings.update({key: value for key, value in flags.items() if value is not None})
    print(json.dumps(store.configure_fetch(settings), indent=2))
    return 0


def _cmd_configure_limits(store: SceneImageStore, args: argparse.Namespace) -> int:
    settings = _read_json_arg(args.settings) if args.settings else {}
    for key, value in args.set:
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value  # the database names the key and says what it takes
    print(json.dumps(store.configure_limits(settings), indent=2))
    return 0


def _cmd_worker(store: SceneImageStore, args: argparse.Namespace) -> int:
    # Imported here: the worker pulls in the fetch/storage core, which no other command needs.
    # It opens its own connections (one per slot, one for LISTEN); the store goes unused.
    from . import worker

    if args.concurrency < 1 or (args.lease is not None and args.lease <= 0) or not args.idle_wait >= worker.MIN_WAIT_S:
        return _fail(f"error: --concurrency must be at least 1, --lease positive and --idle-wait at least "
                     f"{worker.MIN_WAIT_S}", code=2)
    return worker.main(args.dsn or "", concurrency=args.concurrency, lease_s=args.lease, name=args.name,
                       drain=args.drain, idle_wait_s=args.idle_wait)


# --- argument parsing -----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scene-images",
        description="Store AI-generated scene images permanently, through the scene-images SQL API.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", help="libpq connection string (default: the PG* environment)")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def command(name: str, run: Command, help: str, *parents: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, parents=[common, *parents])
        sub.set_defaults(command=run)
        return sub

    sub = command("create-project", _cmd_create_project, "create a project and print its id", output)
    sub.add_argument("--name", help="project name (at most 200 characters)")
    sub.add_argument("--master-json", metavar="JSON", help="initial masterJSON: JSON text, @FILE or - (stdin)")

    sub = command("store", _cmd_store, "download a source URL now and store it as the scene's new version", output)
    _store_request(sub)

    sub = command(
        "bulk", _cmd_bulk, "store many images from a masterJSON, a JSON list or a CSV file", output
    )
    sub.add_argument("project_id", type=uuid.UUID, help="the project")
    sub.add_argument("file", help="input file, or - for stdin (JSON)")
    sub.add_argument("--format", choices=FORMATS, default="auto",
                     help="master-json: {scenes: {<scene_id>: {<url-field>, prompt?}}}; "
                          "json: [{scene_id, source_url, prompt?, provider?, metadata?}]; "
                          "csv: header scene_id,source_url[,prompt,provider]; "
                          "auto (default): csv by the .csv suffix, else by the JSON's shape")
    sub.add_argument("--url-field", default="source_url", metavar="FIELD",
                     help="masterJSON scene field holding the source URL (default: %(default)s); "
                          "scenes without it are skipped")
    sub.add_argument("--prompt-field", default="prompt", metavar="FIELD",
                     help="masterJSON scene field holding the prompt (default: %(default)s)")
    sub.add_argument("--chunk-size", type=_chunk_size, default=DEFAULT_CHUNK_SIZE, metavar="N",
                     help=f"images per call and per transaction, 1-{MAX_CHUNK_SIZE} (default: %(default)s)")

    sub = command("url", _cmd_url, "print the permanent URL of a scene's current image (exit 1 if none)")
    _project_scene(sub)

    sub = command("history", _cmd_history, "list every version of a scene, oldest first", output)
    _project_scene(sub)

    sub = command("rollback", _cmd_rollback, "make an existing version of a scene current again", output)
    _project_scene(sub)
    sub.add_argument("version", type=int, help="the version to make current")

    sub = command("master-json", _cmd_master_json, "print a project's masterJSON")
    sub.add_argument("project_id", type=uuid.UUID, help="the project")

    sub = command("configure-storage", _cmd_configure_storage,
                  "choose the storage backend (database owner only); prints the config without secrets")
    sub.add_argument("backend", choices=("file", "supabase", "s3"), help="storage backend")
    sub.add_argument("--settings", metavar="JSON",
                     help="settings object: JSON, @FILE or - (prefer a file or stdin for secrets)")
    sub.add_argument("--set", metavar="KEY=VALUE", type=_key_value, action="append", default=[],
                     help="one setting (repeatable), applied over --settings; "
                          "file: root, public_base_url; supabase: url, service_key, bucket, api_url; "
                          "s3: endpoint_url, region, bucket, access_key_id, secret_access_key, public_base_url")

    sub = command("configure-limits", _cmd_configure_limits,
                  "change the limits per call and per project (database owner only); keys not given keep "
                  "their value; with no option prints the current limits")
    sub.add_argument("--settings", metavar="JSON", help="settings object: JSON, @FILE or -")
    sub.add_argument("--set", metavar="KEY=NUMBER", type=_key_value, action="append", default=[],
                     help="one limit (repeatable), applied over --settings: prompt_max_bytes, metadata_max_bytes, "
                          "metadata_max_depth, pending_jobs_per_project, bulk_deadline_s, bulk_max_bytes_held")

    sub = command("configure-fetch", _cmd_configure_fetch,
                  "change the fetch policy (database owner only); keys not given keep their value; "
                  "with no option prints the current policy")
    sub.add_argument("--settings", metavar="JSON", help="settings object: JSON, @FILE or -")
    sub.add_argument("--allowed-host", dest="allowed_hosts", action="append", metavar="HOST",
                     help="allow only these source hosts (repeatable; *.example.com wildcards)")
    private = sub.add_mutually_exclusive_group()
    private.add_argument("--allow-private-network", dest="allow_private_networks", action="append", metavar="CIDR",
                         help="allow sources in this private network despite the SSRF policy (repeatable)")
    private.add_argument("--allow-private-networks", dest="allow_private_networks", action="store_const", const=True,
                         help="allow every private address (development only)")
    private.add_argument("--refuse-private-networks", dest="allow_private_networks", action="store_const",
                         const=False, help="refuse every private address (the default policy)")
    sub.add_argument("--max-bytes", type=int, metavar="N", help="largest source body accepted")
    sub.add_argument("--timeout-s", type=float, metavar="SECONDS", help="longest a whole download may take, in seconds")
    sub.add_argument("--max-redirects", type=int, metavar="N", help="most redirects followed")
    sub.add_argument("--max-pixels", type=int, metavar="N", help="largest width x height accepted")

    sub = command("enqueue", _cmd_enqueue, "queue a source URL for a worker to store; prints the job id", output)
    _store_request(sub)

    sub = command("job", _cmd_job, "show a job's status, attempts and last error", output)
    sub.add_argument("job_id", type=uuid.UUID, help="the job")
    sub.add_argument("--retry", action="store_true", help="queue a failed job again")

    sub = command("sweep", _cmd_sweep,
                  "list objects in storage that no row references (database owner only); --delete removes them")
    sub.add_argument("--older-than", type=float, default=3600, metavar="SECONDS",
                     help="spare younger objects, which may be uploads about to be recorded (default: %(default)s)")
    sub.add_argument("--delete", action="store_true", help="remove them (default: only list)")

    sub = command("worker", _cmd_worker,
                  "store queued jobs (enqueue_scene_image) until stopped; SIGTERM lets in-flight jobs finish; "
                  "logs progress to stderr")
    sub.add_argument("--concurrency", type=int, default=4, metavar="N", help="jobs run at once (default: %(default)s)")
    sub.add_argument("--drain", action="store_true", help="exit once no job is queued or running")
    sub.add_argument("--lease", type=float, metavar="SECONDS",
                     help="how long a claim holds before another worker may take the job over "
                          "(default: the queue policy's lease_s)")
    sub.add_argument("--name", help="the worker's name in the jobs' locked_by (default: host:pid)")
    sub.add_argument("--idle-wait", type=float, default=2.0, metavar="SECONDS",  # worker.IDLE_WAIT_S (not imported here)
                     help="longest an idle slot waits for a NOTIFY before it looks at the queue again "
                          "(default: %(default)s)")
    return parser


def _store_request(sub: argparse.ArgumentParser) -> None:
    _project_scene(sub)
    sub.add_argument("source_url", help="the generator's (temporary) image URL")
    sub.add_argument("--prompt", help="the generation prompt, kept with the image")
    sub.add_argument("--provider", default="fal_ai_flux", help="generator name (default: %(default)s)")
    sub.add_argument("--metadata", metavar="JSON", help="a JSON object kept with the image: JSON, @FILE or -")


def _project_scene(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("project_id", type=uuid.UUID, help="the project")
    sub.add_argument("scene_id", help="the scene's key in masterJSON")


def _chunk_size(text: str) -> int:
    size = int(text)
    if not 1 <= size <= MAX_CHUNK_SIZE:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_CHUNK_SIZE}")
    return size


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


# --- input and output -----------------------------------------------------------------------


def _read_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc


def _read_json_arg(value: str) -> Any:
    """JSON given inline, as @FILE, or as - for stdin (so secrets stay out of the process list)."""
    text = sys.stdin.read() if value == "-" else _read_file(value[1:]) if value.startswith("@") else value
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}") from exc


def _print_image(image: SceneImage, as_json: bool) -> None:
    if as_json:
        print(_to_json(image))
    else:
        _print_images([image], as_json=False)


def _print_images(images: list[SceneImage], as_json: bool) -> None:
    if as_json:
        print(_to_json(images))
        return
    _print_table(
        ["scene", "version", "size", "dimensions", "permanent URL"],
        [[i.scene_id, str(i.version), _size(i.file_size), f"{i.width}x{i.height}", i.storage_url] for i in images],
    )


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    for line in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def _to_json(value: Any) -> str:
    def default(obj: object) -> object:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        if isinstance(obj, uuid.UUID):
            return str(obj)
        if isinstance(obj, datetime):
            return obj.isoformat()
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")

    return json.dumps(value, default=default, indent=2)


def _sqlstate(exc: psycopg.Error) -> str:
    # A failed connection has no server SQLSTATE; 08001 is the standard "unable to connect".
    return exc.sqlstate or ("08001" if isinstance(exc, psycopg.OperationalError) else "XX000")


def _one_line(exc: psycopg.Error) -> str:
    return exc.diag.message_primary or " ".join(str(exc).split())


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code
