"""Read the CLI's bulk input into SceneImageRequests.

Three formats:
- master-json: a pipeline's masterJSON, `{"scenes": {"<scene_id>": {"source_url": ..., "prompt": ...}}}`.
  The URL is read from `url_field` (default `source_url`; `image_url` is common too) and the
  prompt from `prompt_field` (default `prompt`); scenes without a URL are skipped (already
  stored ones carry only `scene_start_frame`). `provider` and `metadata` are read when present.
- json: a list of `{scene_id, source_url, prompt?, provider?, metadata?}`.
- csv: a header row naming `scene_id`, `source_url` and optionally `prompt`, `provider`.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .models import SceneImageRequest

FORMATS = ("auto", "master-json", "json", "csv")
_REQUEST_KEYS = {"scene_id", "source_url", "prompt", "provider", "metadata"}


class InputError(ValueError):
    """The bulk input cannot be read; the message says where."""


def parse_requests(
    text: str, fmt: str = "auto", *, name: str = "input", url_field: str = "source_url", prompt_field: str = "prompt"
) -> list[SceneImageRequest]:
    """The requests in `text`; `name` (a file name) decides `auto` between csv and JSON."""
    if fmt == "auto":
        fmt = "csv" if name.lower().endswith(".csv") else _json_format(_load_json(text))
    if fmt == "csv":
        requests = _from_csv(text)
    elif fmt == "master-json":
        requests = _from_master_json(_load_json(text), url_field, prompt_field)
    elif fmt == "json":
        requests = _from_list(_load_json(text))
    else:
        raise InputError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if not requests:
        raise InputError(f"{name} holds no image to store")
    return requests


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}") from exc


def _json_format(document: Any) -> str:
    if isinstance(document, dict) and isinstance(document.get("scenes"), dict):
        return "master-json"
    if isinstance(document, list):
        return "json"
    raise InputError('expected a masterJSON object with "scenes" or a JSON list of requests')


def _from_master_json(document: Any, url_field: str, prompt_field: str) -> list[SceneImageRequest]:
    if not isinstance(document, dict) or not isinstance(document.get("scenes"), dict):
        raise InputError('masterJSON must be an object whose "scenes" is an object keyed by scene_id')
    requests = []
    for scene_id, scene in document["scenes"].items():
        if not isinstance(scene, dict) or not scene.get(url_field):
            continue
        requests.append(_request(
            {
                "scene_id": scene_id,
                "source_url": scene[url_field],
                "prompt": scene.get(prompt_field),
                "provider": scene.get("provider"),
                "metadata": scene.get("metadata"),
            },
            where=f"scenes.{scene_id}",
        ))
    return requests


def _from_list(document: Any) -> list[SceneImageRequest]:
    if not isinstance(document, list):
        raise InputError("expected a JSON list of requests")
    requests = []
    for index, item in enumerate(document):
        where = f"item {index}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: not an object")
        unknown = set(item) - _REQUEST_KEYS
        if unknown:
            raise InputError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        requests.append(_request(item, where=where))
    return requests


def _from_csv(text: str) -> list[SceneImageRequest]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"scene_id", "source_url"} - set(reader.fieldnames or ())
    if missing:
        raise InputError(f"CSV header lacks {', '.join(sorted(missing))}")
    return [
        _request({k: v or None for k, v in row.items() if k in _REQUEST_KEYS - {"metadata"}}, where=f"line {line}")
        for line, row in enumerate(reader, start=2)
    ]


def _request(item: dict[str, Any], *, where: str) -> SceneImageRequest:
    scene_id, source_url = item.get("scene_id"), item.get("source_url")
    if not isinstance(scene_id, str) or not isinstance(source_url, str):
        raise InputError(f"{where}: scene_id and source_url must be strings")
    metadata = item.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InputError(f"{where}: metadata must be an object")
    # Absent fields take the dataclass defaults, the same as the SQL function's.
    optional = {key: item[key] for key in ("prompt", "provider") if item.get(key) is not None}
    return SceneImageRequest(scene_id=scene_id, source_url=source_url, metadata=metadata, **optional)
