#!/usr/bin/env python3
"""Writes the small seed corpus for fuzz_image: one tiny file per format and colour path.

  /root/.cache/loupe/golden-venv/bin/python cpp/fuzz/image/make_seeds.py
"""
import io
import pathlib

import numpy as np
from PIL import Image

OUT = pathlib.Path(__file__).resolve().parent / "corpus"


def pattern(h, w, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def save(name, image, **kw):
    buf = io.BytesIO()
    image.save(buf, **kw)
    (OUT / name).write_bytes(buf.getvalue())


def main():
    OUT.mkdir(exist_ok=True)
    rgb = Image.fromarray(pattern(12, 17, 1))
    exif = Image.Exif()
    exif[0x0112] = 6
    save("rgb.jpg", rgb, format="JPEG", quality=70)
    save("exif6.jpg", rgb, format="JPEG", quality=70, exif=exif.tobytes())
    save("progressive.jpg", rgb, format="JPEG", quality=70, progressive=True)
    save("grey.jpg", rgb.convert("L"), format="JPEG")
    save("cmyk.jpg", rgb.convert("CMYK"), format="JPEG")
    save("rgb.png", rgb, format="PNG")
    save("rgba.png", Image.fromarray(np.dstack([pattern(12, 17, 2), pattern(12, 17, 3)[..., 0]]), "RGBA"), format="PNG")
    save("palette_trns.png", rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), format="PNG", transparency=2)
    save("interlaced.png", rgb, format="PNG", interlace=1)
    save("grey1bit.png", rgb.convert("1"), format="PNG")
    save("lossy.webp", rgb, format="WEBP", quality=50)
    save("lossless_alpha.webp", Image.fromarray(np.dstack([pattern(12, 17, 4), pattern(12, 17, 5)[..., 0]]), "RGBA"),
         format="WEBP", lossless=True)
    frames = [Image.fromarray(pattern(12, 17, 6 + i)).convert("P", palette=Image.Palette.ADAPTIVE) for i in range(2)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], transparency=1, interlace=True)
    (OUT / "anim.gif").write_bytes(buf.getvalue())
    save("rgb.bmp", rgb, format="BMP")
    save("palette.bmp", rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), format="BMP")
    save("mono.bmp", rgb.convert("1"), format="BMP")


if __name__ == "__main__":
    main()
