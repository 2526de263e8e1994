"""Objects as files under a root directory, served by any web server at public_base_url."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..errors import StorageFailed, StorageMisconfigured
from ..paths import check_object_path, check_prefix
from ._settings import SettingNames, http_url, read_settings
from .base import StoredObjectInfo

TEMP_PREFIX = ".tmp-"
FILE_MODE = 0o644
DIR_MODE = 0o755


class FileBackend:
    """Settings: `root` (absolute directory), `public_base_url` (URL prefix of that directory)."""

    kind = "file"
    setting_names = SettingNames(required=("root", "public_base_url"))

    def __init__(self, settings: dict[str, Any]) -> None:
        values = read_settings(self.kind, settings, self.setting_names)
        if not os.path.isabs(values["root"]):
            raise StorageMisconfigured(
                "file storage setting root must be an absolute directory path"
            )
        self._root = os.path.normpath(values["root"])
        self._base = http_url(self.kind, "public_base_url", values["public_base_url"])

    def put(self, path: str, data: bytes, content_type: str) -> str:
        final = self._full(path)
        directory = os.path.dirname(final)
        try:
            self._make_dirs(directory)
            # Written completely under a temporary name, then linked: readers never see a
            # partial file, and link() refuses an existing name, so nothing is overwritten.
            fd, temp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fchmod(out.fileno(), FILE_MODE)
                    os.fsync(out.fileno())
                os.link(temp, final)
            finally:
                os.unlink(temp)
            _fsync_dir(directory)
        except FileExistsError:
            raise StorageFailed(
                f"object {path} already exists; versions are never overwritten"
            ) from None
        except OSError as exc:
            if not os.path.isdir(self._root):
                raise self._missing_root() from None
            raise StorageFailed(
                f"cannot write {path} under {self._root}: {exc.strerror or exc}"
            ) from None
        return self.public_url(path)

    def delete(self, path: str) -> None:
        try:
            os.unlink(self._full(path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageFailed(
                f"cannot delete {path} under {self._root}: {exc.strerror or exc}"
            ) from None

    def exists(self, path: str) -> bool:
        return os.path.isfile(self._full(path))

    def list(self, prefix: str) -> Iterator[StoredObjectInfo]:
        check_prefix(prefix)
        folder = prefix.rpartition("/")[0]
        start = os.path.join(self._root, *folder.split("/")) if folder else self._root

        def fail(exc: OSError) -> None:
            if not isinstance(
                exc, FileNotFoundError
            ):  # a folder that does not exist is empty
                raise StorageFailed(
                    f"cannot list {prefix!r} under {self._root}: {exc.strerror or exc}"
                )

        for directory, subdirs, names in os.walk(start, onerror=fail):
            subdirs.sort()
            for name in sorted(names):
                full = os.path.join(directory, name)
                path = os.path.relpath(full, self._root).replace(os.sep, "/")
                if name.startswith(TEMP_PREFIX) or not path.startswith(prefix):
                    continue
                try:
                    stat = os.stat(full)
                except FileNotFoundError:
                    continue  # deleted while we walked
                yield StoredObjectInfo(
                    path, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)
                )

    def public_url(self, path: str) -> str:
        return f"{self._base}/{quote(check_object_path(path))}"

    def ensure_ready(self) -> None:
        try:
            os.makedirs(self._root, DIR_MODE, exist_ok=True)
        except OSError as exc:
            raise StorageMisconfigured(
                f"cannot create storage root {self._root}: {exc.strerror or exc}"
            ) from None
        if not os.access(self._root, os.W_OK | os.X_OK):
            raise StorageMisconfigured(
                f"storage root {self._root} is not writable by this process"
            )

    def _missing_root(self) -> StorageMisconfigured:
        """A root directory that does not exist (a deploy that named one without creating it,
        an unmounted volume). The owner's message and the server log name the path; a client
        role reads that the root is missing and the hint, which name only the setting."""
        return StorageMisconfigured(
            f"file storage root {self._root} is missing: the directory of storage setting root "
            "does not exist or the server cannot reach it",
            kind=self.kind,
            summary="the storage root is missing (the directory of storage setting root does not exist "
            "or the server cannot reach it)",
            hint="The database owner creates it with configure_scene_image_storage('file', "
            "'{\"root\": ..., \"public_base_url\": ...}'), or creates the directory writable by the "
            "database server's OS user; the configured root is in scene_images_internal.settings.",
        )

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "root": self._root, "public_base_url": self._base}

    def _full(self, path: str) -> str:
        return os.path.join(self._root, *check_object_path(path).split("/"))

    def _make_dirs(self, directory: str) -> None:
        # Only below the root: a missing root (unmounted volume) must fail, not be recreated.
        current = self._root
        for part in os.path.relpath(directory, self._root).split(os.sep):
            current = os.path.join(current, part)
            try:
                os.mkdir(current, DIR_MODE)
            except FileExistsError:
                continue
            os.chmod(current, DIR_MODE)  # mkdir's mode is reduced by the umask


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
