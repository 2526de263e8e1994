"""`make demo`: the whole story of scene-images on this machine, with no account anywhere.

A stand-in image generator hands out URLs that expire after URL_TTL_S seconds; the database
downloads each image into local storage (var/storage, served on 127.0.0.1:STORAGE_PORT),
versions it and keeps the project's masterJSON on the permanent URL. Every claim is checked;
the exit status is 0 only if all of them held.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import gallery
import psycopg
import recorded
import requests
import story
from cli_calls import CliError, SceneImagesCli
from console import CheckFailed, Console
from generator import ENDPOINT, GeneratedImage, ImageGenerator
from storage_server import StorageServer

REPO = Path(__file__).resolve().parent.parent
STORAGE_ROOT = REPO / "var" / "storage"
CLI = REPO / "var" / "venv" / "bin" / "scene-images"
# Each URL must be downloaded within this long of being handed out (the bulk CLI call starts a
# process and a session first: about 2 s here). DEMO_URL_TTL_S lengthens it, for a loaded machine.
URL_TTL_S = int(os.environ.get("DEMO_URL_TTL_S", "10"))
PROVIDER = "demo_generator"
REGENERATED = "scene_03"
NO_PROJECT_YET = uuid.UUID(int=0)  # until Demo.create_project sets the real one


@dataclass
class Demo:
    console: Console
    cli: SceneImagesCli
    db: psycopg.Connection[Any]
    generator: ImageGenerator
    storage: StorageServer
    workdir: Path
    # Loopback only, never through a proxy the environment may name.
    http: requests.Session = field(default_factory=requests.Session)
    project_id: uuid.UUID = NO_PROJECT_YET
    # What the generator made for each (scene, version) we expect the database to assign.
    made: dict[tuple[str, int], GeneratedImage] = field(default_factory=dict)
    urls: dict[tuple[str, int], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http.trust_env = False

    def configure(self) -> None:
        c = self.console
        c.step(1, "Start a stand-in image generator and our storage, and point the database at them")
        c.say(f"  Generator (fal-like) : POST {self.generator.base_url}{ENDPOINT}"
              f"  (its URLs expire after {URL_TTL_S} s)")
        c.say(f"  Storage              : {STORAGE_ROOT} served at {self.storage.base_url}/")
        self.cli.show("configure-storage", "file", "--set", f"root={STORAGE_ROOT}",
                      "--set", f"public_base_url={self.storage.base_url}")
        c.say("  By default the database refuses to download from loopback and private addresses (SSRF")
        c.say("  protection). The demo's generator listens on 127.0.0.1, so it allows exactly that address:")
        policy = self.cli.show("configure-fetch", "--allow-private-network", "127.0.0.1/32")
        c.check(json.loads(policy)["allow_private_networks"] == ["127.0.0.1/32"],
                "the fetch policy allows the loopback generator (and no other private address)")

    def create_project(self) -> None:
        c = self.console
        c.step(2, f"Create a project: the short film \"{story.TITLE}\", 5 scenes in its masterJSON")
        master_file = self.workdir / "master.json"
        master_file.write_text(json.dumps(story.master_json(), indent=2))
        project = self.cli.json("create-project", "--name", f"{story.TITLE} (demo)",
                                "--master-json", f"@{master_file}")
        self.project_id = uuid.UUID(project["id"])
        c.table(["scene", "scene_frame_prompt"],
                [(scene_id, _short(prompt, 96)) for scene_id, prompt in story.SCENE_PROMPTS.items()])
        scenes = project["master_json"]["scenes"]
        c.check(sorted(scenes) == sorted(story.SCENE_PROMPTS), f"project {self.project_id} has the 5 scenes")

    def store_in_bulk(self) -> None:
        c = self.console
        c.step(3, "Generate every scene's first frame, then store all of them in bulk through the CLI")
        pipeline = story.master_json()
        for n, (scene_id, prompt) in enumerate(story.SCENE_PROMPTS.items(), start=1):
            image, url, response = self._generate(prompt, seed=1000 + n, output_format="jpeg")
            self.made[scene_id, 1], self.urls[scene_id, 1] = image, url
            # What a pipeline keeps from the generator's answer: the temporary URL and the seed.
            pipeline["scenes"][scene_id] |= {"image_url": url, "provider": PROVIDER,
                                             "metadata": {"seed": response["seed"]}}
            c.say(f"  {scene_id}: {_short(url, 100)}")
        c.check(all(u.startswith(self.generator.base_url) for u in self.urls.values()),
                "the generator answered each prompt with a temporary URL in fal's response shape")
        batch = self.workdir / "generated.json"
        batch.write_text(json.dumps(pipeline, indent=2))
        rows = self.cli.json("bulk", str(self.project_id), str(batch), "--format", "master-json",
                             "--url-field", "image_url", "--prompt-field", "scene_frame_prompt")
        c.table(["scene", "version", "size", "dimensions", "permanent URL"],
                [(r["scene_id"], r["version"], _kib(r["file_size"]), f'{r["width"]}x{r["height"]}', r["storage_url"])
                 for r in rows])
        c.check(len(rows) == 5 and all(r["version"] == 1 for r in rows), "5 scenes stored, each as version 1")
        c.check(all(r["sha256"] == self.made[r["scene_id"], 1].sha256 for r in rows),
                "each stored sha256 is the sha256 of the image the generator made")
        c.check(all(r["storage_url"].startswith(self.storage.base_url + "/") for r in rows),
                "every permanent URL is on our storage, not the generator")
        c.check(all(self.generator.downloads.get(i.image_id) == 1 for i in self.made.values()),
                "the database downloaded each temporary URL exactly once", str(self.generator.downloads))

    def regenerate_and_roll_back(self) -> None:
        c = self.console
        c.step(4, f"Regenerate {REGENERATED} (version 2 becomes current), roll back to version 1, show its history")
        prompt = story.SCENE_PROMPTS[REGENERATED]
        image, url, response = self._generate(prompt, seed=2024, output_format="png")
        self.made[REGENERATED, 2], self.urls[REGENERATED, 2] = image, url
        self.cli.show("store", str(self.project_id), REGENERATED, url, "--prompt", prompt,
                      "--provider", PROVIDER, "--metadata", json.dumps({"seed": response["seed"]}))
        v2 = recorded.current(self._images(), REGENERATED)
        c.check(v2.version == 2 and v2.sha256 == image.sha256, "version 2 is current and holds the new image")
        c.check(v2.content_type == "image/png", "its type was sniffed from the bytes: image/png this time")
        c.check(self._start_frame(REGENERATED) == v2.storage_url, "masterJSON already points at version 2")

        self.cli.show("rollback", str(self.project_id), REGENERATED, "1")
        v1 = recorded.current(self._images(), REGENERATED)
        c.check(v1.version == 1, "after the rollback version 1 is current again")
        c.check(self._start_frame(REGENERATED) == v1.storage_url, "masterJSON followed the rollback")

        self.cli.show("history", str(self.project_id), REGENERATED)
        history = [(i.version, i.is_current) for i in self._images() if i.scene_id == REGENERATED]
        c.check(history == [(1, True), (2, False)], "the history keeps both versions, version 1 current")

    def prove_permanence(self) -> None:
        c = self.console
        c.step(5, "Let the generator's URLs expire: they die, our permanent URLs live on")
        latest = max(int(parse_qs(urlsplit(u).query)["Expires"][0]) for u in self.urls.values())
        wait = max(0.0, latest + 1 - time.time())
        c.say(f"  waiting {wait:.0f} s for the last generator URL to expire…")
        time.sleep(wait)
        for (scene_id, version), url in self.urls.items():
            answer = self.http.get(url, timeout=5)
            c.check(answer.status_code == 403 and "Request has expired" in answer.text,
                    f"generator URL of {scene_id} v{version} answers 403 (Request has expired)",
                    f"got {answer.status_code}: {answer.text[:200]}")

        images = self._images()
        c.check(len(images) == len(self.made), f"the database holds {len(self.made)} image versions")
        for image in images:
            body = self.http.get(image.storage_url, timeout=5).content
            served = hashlib.sha256(body).hexdigest()
            c.check(served == image.sha256 == self.made[image.scene_id, image.version].sha256,
                    f"{image.scene_id} v{image.version}: its permanent URL serves the very bytes the generator made "
                    f"(sha256 {served[:12]}…)",
                    f"served {served}, row {image.sha256}")

        self.cli.show("url", str(self.project_id), REGENERATED)
        master = json.loads(self.cli.show("master-json", str(self.project_id)))
        frames = {s: scene.get("scene_start_frame") for s, scene in master["scenes"].items()}
        currents = {i.scene_id: i.storage_url for i in images if i.is_current}
        c.check(frames == currents, "scene_start_frame of every scene is its current permanent URL",
                f"masterJSON {frames} vs current {currents}")
        c.check(all(master["scenes"][s]["scene_frame_prompt"] == p for s, p in story.SCENE_PROMPTS.items()),
                "the rest of the masterJSON is untouched")

    def publish_gallery(self) -> None:
        c = self.console
        c.step(6, "Write a gallery of the project into storage and serve it")
        images = self._images()
        page = gallery.write(STORAGE_ROOT, str(self.project_id), story.TITLE, [
            gallery.GalleryImage(i.scene_id, i.version, i.is_current, i.storage_url, i.file_size,
                                 i.width, i.height, i.content_type, i.generation_prompt or "")
            for i in images
        ])
        url = f"{self.storage.base_url}/{page.relative_to(STORAGE_ROOT).parent.as_posix()}/"
        answer = self.http.get(url, timeout=5)
        c.check(answer.status_code == 200 and all(i.storage_url in answer.text for i in images),
                "the gallery page is served and shows every version of every scene")
        c.say(f"\n  Gallery: {url}")
        c.say(f"  (written to {page})")

    def _generate(self, prompt: str, *, seed: int, output_format: str) -> tuple[GeneratedImage, str, dict[str, Any]]:
        """Ask the generator as a pipeline would; return its image, the temporary URL and its answer."""
        response = self.http.post(f"{self.generator.base_url}{ENDPOINT}", timeout=10,
                                  json={"prompt": prompt, "seed": seed, "output_format": output_format})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        first = answer["images"][0]
        if not {"url", "width", "height", "content_type"} <= first.keys() or answer.get("prompt") != prompt:
            raise CheckFailed(f"the generator's answer is not fal's shape: {answer}")
        return self.generator.image_for(first["url"]), first["url"], answer

    def _images(self) -> list[recorded.StoredImage]:
        return recorded.stored_images(self.db, self.project_id)

    def _start_frame(self, scene_id: str) -> str | None:
        row = self.db.execute("SELECT master_json #>> ARRAY['scenes', %s, 'scene_start_frame'] FROM projects"
                              " WHERE id = %s", (scene_id, self.project_id)).fetchone()
        return row[0] if row else None


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _kib(size: int) -> str:
    return f"{size / 1024:.1f} KiB"


def _open_storage(port: int) -> StorageServer:
    try:
        return StorageServer(STORAGE_ROOT, port).start()
    except OSError as exc:
        raise CheckFailed(f"cannot serve storage on 127.0.0.1:{port} ({exc.strerror}); "
                          "stop whatever uses it or choose another port with STORAGE_PORT=...") from None


def _check_installed() -> None:
    if not CLI.exists():
        raise CheckFailed(f"{CLI} is missing: run `make deps` first")


def _connect() -> psycopg.Connection[Any]:
    try:
        conn = psycopg.connect("", autocommit=True)
    except psycopg.OperationalError as exc:
        raise CheckFailed(f"cannot connect to the database from the PG* environment: {exc}") from None
    if not recorded.is_deployed(conn):
        raise CheckFailed(f"database {conn.info.dbname} lacks store_scene_image: run `make deploy` first")
    return conn


def serve_until_interrupted(console: Console) -> None:
    console.say("  Serving storage and gallery: open the URL above; press Ctrl-C to stop.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        console.say("\n  stopped.")


def main() -> int:
    started = time.monotonic()
    console = Console()
    console.say(f"scene-images demo: database {os.environ.get('PGDATABASE', '(libpq default)')}, "
                f"storage {STORAGE_ROOT}")
    try:
        _check_installed()
        storage = _open_storage(int(os.environ.get("STORAGE_PORT", "54380")))
        generator = ImageGenerator(ttl=URL_TTL_S).start()
        try:
            with _connect() as db, tempfile.TemporaryDirectory(prefix="scene-images-demo-") as workdir:
                demo = Demo(console, SceneImagesCli(CLI), db, generator, storage, Path(workdir))
                demo.configure()
                demo.create_project()
                demo.store_in_bulk()
                demo.regenerate_and_roll_back()
                demo.prove_permanence()
                demo.publish_gallery()
            elapsed = time.monotonic() - started
            console.say(f"\nALL CHECKS PASSED: {console.checks} checks in {elapsed:.1f} s.")
            if sys.stdin.isatty():
                serve_until_interrupted(console)
        finally:
            generator.stop()
            storage.stop()
    except (CheckFailed, CliError, requests.RequestException, psycopg.Error) as exc:
        console.say(f"\nDEMO FAILED: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
