"""generate_and_store with any generator callable, and the fal.ai adapter without fal.ai:
only its failure without the package or FAL_KEY, and its mapping of a fal-shaped result."""

from __future__ import annotations

import sys
import types
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from client_sources import FetchPolicy, ImageSource

from scene_images import (
    GeneratorUnavailable,
    SceneImageStore,
    SourceHttpError,
    fal_generator,
    generate_and_store,
)

pytest_plugins = ["client_fixtures"]



def test_generate_and_store_stores_the_generated_image_with_its_metadata(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    prompts: list[str] = []

    def generator(prompt: str) -> tuple[str, Mapping[str, Any]]:
        prompts.append(prompt)
        return image_source.image(32, 18), {"seed": 1, "model": "test"}

    image = generate_and_store(
        store, project_id, "scene_01", "a lighthouse at dawn", generator,
        provider="test_gen", metadata={"model": "override", "take": 2},
    )
    assert prompts == ["a lighthouse at dawn"]
    assert (image.scene_id, image.generation_prompt, image.provider) == ("scene_01", "a lighthouse at dawn", "test_gen")
    assert (image.width, image.height) == (32, 18)
    assert {k: image.fal_metadata[k] for k in ("seed", "model", "take")} == {"seed": 1, "model": "override", "take": 2}
    assert store.get_current_image_url(project_id, "scene_01") == image.storage_url


def test_generate_and_store_raises_the_store_error(
    store: SceneImageStore, project_id: uuid.UUID, image_source: ImageSource, fetch_policy: FetchPolicy
) -> None:
    with pytest.raises(SourceHttpError):
        generate_and_store(store, project_id, "scene_01", "p", lambda _: (image_source.url("/expired.png"), {}))


def test_fal_generator_without_fal_client_raises_generator_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fal_client", None)  # makes `import fal_client` fail
    monkeypatch.setenv("FAL_KEY", "key")
    with pytest.raises(GeneratorUnavailable, match=r"scene-images\[fal\]"):
        fal_generator()


def test_fal_generator_without_fal_key_raises_generator_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fal_client", types.ModuleType("fal_client"))
    monkeypatch.delenv("FAL_KEY", raising=False)
    with pytest.raises(GeneratorUnavailable, match="FAL_KEY"):
        fal_generator()


def test_fal_generator_maps_a_fal_result_to_url_and_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def subscribe(model: str, arguments: dict[str, Any]) -> dict[str, Any]:
        calls.append((model, arguments))
        image = {"url": "https://v3.fal.media/files/x.jpg", "width": 1024, "height": 576, "content_type": "image/jpeg"}
        return {"images": [image], "seed": 42}

    fake = types.ModuleType("fal_client")
    fake.subscribe = subscribe  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fal_client", fake)
    monkeypatch.setenv("FAL_KEY", "key")
    generate = fal_generator("fal-ai/flux/dev", image_size="landscape_16_9")
    url, metadata = generate("a lighthouse")
    assert calls == [("fal-ai/flux/dev", {"image_size": "landscape_16_9", "prompt": "a lighthouse"})]
    assert url == "https://v3.fal.media/files/x.jpg"
    assert metadata == {"fal_model": "fal-ai/flux/dev", "seed": 42, "width": 1024, "height": 576,
                        "content_type": "image/jpeg"}
