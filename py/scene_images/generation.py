"""Generate an image with any generator and store it at once, before its URL expires.

A generator is any callable `generator(prompt) -> (url, metadata)`; `fal_generator()` adapts
fal.ai's client (the optional `fal` extra: `pip install 'scene-images[fal]'`, and FAL_KEY).
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol, overload

from .models import SceneImage, SceneImageRequest, StoreOutcome

Generator = Callable[[str], tuple[str, Mapping[str, Any]]]


class SceneImageWriter(Protocol):
    """What generate_and_store needs: SceneImageStore and SupabaseSceneImageStore both fit."""

    def download_and_store(self, project_id: uuid.UUID, request: SceneImageRequest) -> SceneImage: ...

    def download_and_store_or_enqueue(self, project_id: uuid.UUID, request: SceneImageRequest) -> StoreOutcome: ...


class GeneratorUnavailable(RuntimeError):
    """A generator adapter cannot run here: its package or credentials are missing."""


@overload
def generate_and_store(
    store: SceneImageWriter, project_id: uuid.UUID, scene_id: str, prompt: str, generator: Generator, *,
    provider: str = ..., metadata: Mapping[str, Any] | None = ..., fallback: Literal[False] = ...,
) -> SceneImage: ...


@overload
def generate_and_store(
    store: SceneImageWriter, project_id: uuid.UUID, scene_id: str, prompt: str, generator: Generator, *,
    provider: str = ..., metadata: Mapping[str, Any] | None = ..., fallback: Literal[True],
) -> StoreOutcome: ...


def generate_and_store(
    store: SceneImageWriter,
    project_id: uuid.UUID,
    scene_id: str,
    prompt: str,
    generator: Generator,
    *,
    provider: str = "fal_ai_flux",
    metadata: Mapping[str, Any] | None = None,
    fallback: bool = False,
) -> SceneImage | StoreOutcome:
    """Run the generator and store its image as the scene's new current version.

    The stored metadata is the generator's, overlaid with the caller's `metadata`. With
    `fallback=True` a storage failure does not lose the image: it is queued for a worker and
    the outcome carries `stored=False` and the generator's URL to use until the worker has
    stored it (masterJSON then switches to the permanent URL by itself).
    """
    url, generated = generator(prompt)
    request = SceneImageRequest(
        scene_id=scene_id,
        source_url=url,
        prompt=prompt,
        provider=provider,
        metadata={**generated, **(metadata or {})},
    )
    if fallback:
        return store.download_and_store_or_enqueue(project_id, request)
    return store.download_and_store(project_id, request)


def fal_generator(model: str = "fal-ai/flux/schnell", **arguments: Any) -> Generator:
    """A generator calling fal.ai's `model`; extra `arguments` go to every request
    (e.g. image_size="landscape_16_9"). Raises GeneratorUnavailable without fal_client or FAL_KEY."""
    try:
        fal_client = importlib.import_module("fal_client")
    except ImportError as exc:
        raise GeneratorUnavailable(
            "fal_generator needs the fal_client package: pip install 'scene-images[fal]'"
        ) from exc
    if not os.environ.get("FAL_KEY"):
        raise GeneratorUnavailable("fal_generator needs the FAL_KEY environment variable (your fal.ai API key)")

    def generate(prompt: str) -> tuple[str, Mapping[str, Any]]:
        result = fal_client.subscribe(model, arguments={**arguments, "prompt": prompt})
        image = result["images"][0]
        details = {key: image[key] for key in ("width", "height", "content_type") if key in image}
        return image["url"], {"fal_model": model, "seed": result.get("seed"), **details}

    return generate
