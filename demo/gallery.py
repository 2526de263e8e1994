"""A static HTML gallery of one project: each scene's current image large, every version as a thumbnail.

The page only references permanent URLs, so it keeps working for as long as storage does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path


@dataclass(frozen=True)
class GalleryImage:
    scene_id: str
    version: int
    is_current: bool
    storage_url: str
    file_size: int
    width: int
    height: int
    content_type: str
    prompt: str


STYLE = """
body { font-family: system-ui, sans-serif; background: #111; color: #eee; margin: 2rem auto; max-width: 1100px; }
h1 { font-weight: 600; } .sub { color: #999; }
section { margin: 2.5rem 0; padding-bottom: 1.5rem; border-bottom: 1px solid #333; }
.current { width: 100%; max-width: 1024px; border-radius: 6px; display: block; }
.meta { color: #bbb; font-size: .9rem; } .prompt { font-style: italic; }
.versions { display: flex; gap: .8rem; margin-top: .8rem; flex-wrap: wrap; }
.versions figure { margin: 0; text-align: center; font-size: .8rem; color: #999; }
.versions img { width: 192px; border-radius: 4px; border: 3px solid transparent; }
.versions .is-current img { border-color: #4caf50; } .versions .is-current { color: #4caf50; }
a { color: #8ab4f8; }
"""


def render(project_id: str, title: str, images: Sequence[GalleryImage]) -> str:
    """The page as HTML text: scenes in scene_id order, versions oldest first."""
    scenes: dict[str, list[GalleryImage]] = {}
    for image in sorted(images, key=lambda i: (i.scene_id, i.version)):
        scenes.setdefault(image.scene_id, []).append(image)
    sections = "\n".join(_section(scene_id, versions) for scene_id, versions in scenes.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} — scene-images gallery</title>
<style>{STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="sub">Project {escape(project_id)} · {len(scenes)} scenes · {len(images)} stored images.
Every picture below is served from a permanent URL; the generator's URLs expired long ago.</p>
{sections}
</body></html>
"""


def write(root: Path, project_id: str, title: str, images: Sequence[GalleryImage]) -> Path:
    """Write gallery/<project_id>/index.html under the storage root; return its path."""
    path = root / "gallery" / project_id / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(project_id, title, images), encoding="utf-8")
    return path


def _section(scene_id: str, versions: list[GalleryImage]) -> str:
    current = next(v for v in versions if v.is_current)
    thumbs = "\n".join(
        f'<figure class="{"is-current" if v.is_current else ""}"><a href="{escape(v.storage_url)}">'
        f'<img src="{escape(v.storage_url)}" alt="{escape(scene_id)} version {v.version}" loading="lazy"></a>'
        f'<figcaption>v{v.version}{" · current" if v.is_current else ""}</figcaption></figure>'
        for v in versions
    )
    return f"""<section id="{escape(scene_id)}">
<h2>{escape(scene_id)} <span class="meta">version {current.version} of {len(versions)}</span></h2>
<a href="{escape(current.storage_url)}">
<img class="current" src="{escape(current.storage_url)}" alt="{escape(scene_id)}"></a>
<p class="prompt">{escape(current.prompt)}</p>
<p class="meta">{current.width}×{current.height} · {current.content_type} · {_size(current.file_size)} ·
<a href="{escape(current.storage_url)}">{escape(current.storage_url)}</a></p>
<div class="versions">
{thumbs}
</div>
</section>"""


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"
