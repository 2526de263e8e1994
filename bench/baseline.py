"""The contenders written the way an application would, in plain Python:

- `AppStore`: requests download, sha256, write the file into the storage root (fsynced, as
  the file backend does), INSERT the row with psycopg; one at a time (`store_one`, its own
  transaction) or with a thread pool for the downloads and files and one transaction for the
  rows (`store_pooled`, the best app-side version: the same shape as store_scene_images).
- `raw_download_write`: the physical limit: http.client GET + file write (fsynced) with a
  thread pool, no validation, no database.

They know the image's size in pixels from the "generator" (the bench source serves 64x48
JPEGs), so they do not parse the image: the store path's sniffing is part of its overhead.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import requests
from psycopg.types.json import Jsonb

WIDTH, HEIGHT = 64, 48

INSERT = """
INSERT INTO public.scene_images (project_id, scene_id, storage_path, storage_url, file_size, content_type,
    provider, generation_prompt, original_fal_url, fal_metadata, sha256, width, height)
VALUES (%s, %s, %s, %s, %s, 'image/jpeg', 'bench', NULL, %s, %s, %s, %s, %s)
RETURNING *
"""


@dataclass(frozen=True)
class Written:
    scene_id: str
    url: str
    path: str
    size: int
    sha256: str


def write_file(full: Path, data: bytes) -> None:
    """Create the file (never overwrite) and make it durable, like the file backend."""
    full.parent.mkdir(parents=True, exist_ok=True)
    with open(full, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


class AppStore:
    def __init__(self, root: Path, public_base_url: str) -> None:
        self.root = root
        self.public_base_url = public_base_url

    def fetch_and_write(self, project_id: uuid.UUID, scene_id: str, url: str) -> Written:
        response = requests.get(url, timeout=60)
        response.raise_for_status()
        data = response.content
        sha = hashlib.sha256(data).hexdigest()
        path = f"projects/{project_id}/scenes/{scene_id}_{sha[:12]}.jpg"
        write_file(self.root / path, data)
        return Written(scene_id, url, path, len(data), sha)

    def _row(self, project_id: uuid.UUID, written: Written) -> list[Any]:
        return [
            project_id, written.scene_id, written.path, f"{self.public_base_url}/{written.path}", written.size,
            written.url, Jsonb({}), written.sha256, WIDTH, HEIGHT,
        ]

    def store_one(self, conn: psycopg.Connection[Any], project_id: uuid.UUID, scene_id: str, url: str) -> None:
        """One image, its row committed on its own (conn is in autocommit)."""
        written = self.fetch_and_write(project_id, scene_id, url)
        conn.execute(INSERT, self._row(project_id, written)).fetchone()

    def store_sequential(self, conn: psycopg.Connection[Any], project_id: uuid.UUID,
                         requests_: list[tuple[str, str]]) -> None:
        for scene_id, url in requests_:
            self.store_one(conn, project_id, scene_id, url)

    def store_pooled(self, conn: psycopg.Connection[Any], project_id: uuid.UUID,
                     requests_: list[tuple[str, str]], pool_size: int) -> None:
        """Downloads and files in a thread pool, then every row in one transaction."""
        with ThreadPoolExecutor(pool_size) as pool:
            written = list(pool.map(lambda r: self.fetch_and_write(project_id, *r), requests_))
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(INSERT, [self._row(project_id, w) for w in written], returning=True)


def raw_download_write(urls: list[str], directory: Path, pool_size: int) -> int:
    """GET every URL with http.client and write its body to a file; returns the bytes moved."""
    directory.mkdir(parents=True, exist_ok=True)

    def one(item: tuple[int, str]) -> int:
        index, url = item
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        try:
            connection.request("GET", f"{parts.path}?{parts.query}")
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"{url}: HTTP {response.status}")
        finally:
            connection.close()
        write_file(directory / f"{index}.jpg", data)
        return len(data)

    with ThreadPoolExecutor(pool_size) as pool:
        return sum(pool.map(one, enumerate(urls)))
