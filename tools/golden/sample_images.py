"""Sample images for the golden cases: one real public-domain JPEG photo, one CC0 photo
re-encoded as JPEG, one generated PNG and a generated 16-frame clip (PNG frames)."""

import io
import math
import shutil
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLIP_FRAMES = 16
CLIP_FPS = 4.0
CLIP_SIZE = (96, 64)  # (width, height)


def _skimage_member(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as z:
        return z.read(f"skimage/data/{name}")


def generated_png() -> Image.Image:
    """Non-square, sides not multiples of 32: smart_resize has to round both."""
    w, h = 250, 170
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 255 * xx / (w - 1)
    g = 255 * yy / (h - 1)
    b = 127.5 + 127.5 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    img = Image.fromarray(np.stack([r, g, b], -1).round().clip(0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    d.ellipse([20, 30, 110, 120], fill=(220, 30, 40))
    d.rectangle([140, 60, 220, 150], fill=(30, 60, 200))
    d.polygon([(120, 10), (160, 50), (80, 50)], fill=(250, 220, 0))
    d.text((8, 150), "Loupe 42", fill=(0, 0, 0))
    return img


def clip_frame(i: int) -> Image.Image:
    """A ball moving left to right over a slowly shifting background."""
    w, h = CLIP_SIZE
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([40 + 10 * i + 0 * xx, 90 + 60 * yy / h, 160 - 4 * i + 40 * xx / w], -1)
    img = Image.fromarray(base.round().clip(0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    cx = 8 + (w - 16) * i / (CLIP_FRAMES - 1)
    cy = h / 2 + 14 * math.sin(i / 2.5)
    d.ellipse([cx - 9, cy - 9, cx + 9, cy + 9], fill=(250, 240, 60))
    return img


def write_images(out: Path, skimage_wheel: Path):
    out.mkdir(parents=True, exist_ok=True)
    # Real JPEG bytes as shipped (public domain, SpaceX).
    (out / "rocket.jpg").write_bytes(_skimage_member(skimage_wheel, "rocket.jpg"))
    # CC0 PNG re-encoded as a baseline JPEG (quality 90, 4:2:0) to stay small.
    chelsea = Image.open(io.BytesIO(_skimage_member(skimage_wheel, "chelsea.png"))).convert("RGB")
    chelsea.save(out / "chelsea.jpg", format="JPEG", quality=90, subsampling=2, optimize=False)
    generated_png().save(out / "generated_shapes.png", format="PNG", optimize=True)
    clip_dir = out / "clip"
    if clip_dir.exists():
        shutil.rmtree(clip_dir)
    clip_dir.mkdir()
    for i in range(CLIP_FRAMES):
        clip_frame(i).save(clip_dir / f"frame_{i:02d}.png", format="PNG", optimize=True)
