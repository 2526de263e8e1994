"""The demo's short film: a masterJSON with five scenes, each with the prompt for its first frame."""

from __future__ import annotations

from typing import Any

TITLE = "The Keeper's Fox"

SCENE_PROMPTS: dict[str, str] = {
    "scene_01": "Dawn at the lighthouse. A red and white lighthouse on a rocky cliff above a calm sea, "
                "pink sunrise sky, a small orange fox sits by the door.",
    "scene_02": "The storm rolls in. Dark clouds, rain and lightning over a rough sea, "
                "waves crash below the lighthouse, a fishing boat struggles home.",
    "scene_03": "Night at the lighthouse. The beam cuts through the dark, stars and a crescent moon, "
                "the boat follows the light.",
    "scene_04": "Sunset in the harbour. The boat is moored by the pier, houses with lit windows, "
                "the fox waits for the fisherman.",
    "scene_05": "A bright new day. Clear blue sky over a calm sea, the boat sails out again, gulls circle overhead.",
}


def master_json() -> dict[str, Any]:
    """The project's masterJSON before any image exists: scenes keyed scene_01..scene_05."""
    return {
        "title": TITLE,
        "format": {"width": 1024, "height": 576, "fps": 24},
        "scenes": {
            scene_id: {"order": n, "duration_s": 4, "scene_frame_prompt": prompt}
            for n, (scene_id, prompt) in enumerate(SCENE_PROMPTS.items(), start=1)
        },
    }
