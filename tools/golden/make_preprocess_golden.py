#!/usr/bin/env python3
"""Golden preprocessing outputs from HuggingFace transformers for the C++ image tests.

For every sample image it runs the path HF users take with encoded bytes:
Image.open -> ImageOps.exif_transpose (what transformers' load_image does) -> the Qwen2-VL
image processor (torchvision backend, the 5.x default, configured like Qwen3-VL's
preprocessor_config.json) and stores pixel_values + image_grid_thw. Pixel budgets are
overridden per case so the committed tensors stay small. It also records smart_resize
grids for many sizes at the real defaults, and one video through Qwen3VLVideoProcessor
with synthetic frames that the C++ test regenerates from the same formula.

Run with the golden venv:
  /root/.cache/loupe/golden-venv/bin/python tools/golden/make_preprocess_golden.py
"""
import io
import json
import pathlib
import struct

import numpy as np
import torch
import transformers
from PIL import Image, ImageOps
from safetensors.torch import save_file
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor, smart_resize
from transformers.models.qwen3_vl.processing_qwen3_vl import Qwen3VLProcessor
from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor
from transformers.video_utils import VideoMetadata

ROOT = pathlib.Path(__file__).resolve().parents[2]
IMAGES = ROOT / "testdata" / "images"
OUT = ROOT / "testdata" / "preprocess"
QWEN3 = dict(patch_size=16, temporal_patch_size=2, merge_size=2,
             image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
SMALL = (1024, 9216)  # min/max pixels for most cases: at most 36 patches


def photo_like(h, w, seed):
    """Smooth colour fields plus edges and noise: exercises every filter tap."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([
        128 + 100 * np.sin(x / (w / 7.0) + seed) * np.cos(y / (h / 5.0)),
        128 + 100 * np.cos((x + y) / (w / 4.0)),
        255 * ((x // max(1, w // 9) + y // max(1, h // 7)) % 2),
    ], axis=-1)
    img += rng.normal(0, 18, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def exif_with_orientation(value):
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def write_png_16bit(path, h, w, colour_type, seed):
    """Pillow cannot write 16-bit RGB(A); build the PNG by hand (no filtering)."""
    import zlib
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 65536, (h, w, channels), dtype=np.uint16)
    if colour_type == 0:
        px[: h // 2] //= 128  # half the rows stay below 512 so the clip is visible
    raw = b"".join(b"\x00" + px[r].astype(">u2").tobytes() for r in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bmp_v5_bgra(h, w, seed):
    """32-bit BI_BITFIELDS BMP with a BITMAPV5HEADER and an alpha mask (Pillow cannot write one)."""
    px = np.dstack([photo_like(h, w, seed), np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1))])
    bgra = px[::-1, :, [2, 1, 0, 3]].tobytes()  # bottom-up rows
    header = struct.pack("<IiiHHIIiiII", 124, w, h, 1, 32, 3, len(bgra), 2835, 2835, 0, 0)
    header += struct.pack("<IIII", 0xFF0000, 0xFF00, 0xFF, 0xFF000000) + b"sRGB" + bytes(124 - 56)
    offset = 14 + len(header)
    return b"BM" + struct.pack("<IHHI", offset + len(bgra), 0, 0, offset) + header + bgra


def make_samples():
    """Writes the generated sample images (idempotent: existing files are kept)."""
    IMAGES.mkdir(parents=True, exist_ok=True)

    def save(name, fn):
        path = IMAGES / name
        if not path.exists():
            fn(path)

    save("gen_photo_400x300.jpg", lambda p: Image.fromarray(photo_like(300, 400, 1)).save(p, quality=88))
    save("gen_nonsquare_150x97.png", lambda p: Image.fromarray(photo_like(97, 150, 2)).save(p))
    save("gen_tiny_30x20.png", lambda p: Image.fromarray(photo_like(20, 30, 3)).save(p))
    save("gen_wide_600x30.png", lambda p: Image.fromarray(photo_like(30, 600, 4)).save(p))
    save("gen_grey_120x90.png", lambda p: Image.fromarray(photo_like(90, 120, 5)[..., 0], "L").save(p))
    save("gen_grey_90x120.jpg", lambda p: Image.fromarray(photo_like(120, 90, 6)[..., 1], "L").save(p, quality=90))

    def rgba(p):
        a = photo_like(80, 100, 7)
        alpha = np.tile(np.linspace(0, 255, 100).astype(np.uint8), (80, 1))
        Image.fromarray(np.dstack([a, alpha]), "RGBA").save(p)
    save("gen_rgba_100x80.png", rgba)

    def palette(p):
        im = Image.fromarray(photo_like(70, 110, 8)).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
        im.save(p, transparency=3)
    save("gen_palette_trns_110x70.png", palette)
    save("gen_rgb16_64x48.png", lambda p: write_png_16bit(p, 48, 64, 2, 9))
    save("gen_grey16_64x48.png", lambda p: write_png_16bit(p, 48, 64, 0, 10))
    save("gen_exif6_120x80.jpg", lambda p: Image.fromarray(photo_like(80, 120, 11)).save(
        p, quality=90, exif=exif_with_orientation(6)))
    save("gen_exif3_80x60.jpg", lambda p: Image.fromarray(photo_like(60, 80, 12)).save(
        p, quality=90, exif=exif_with_orientation(3)))
    save("gen_progressive_160x120.jpg", lambda p: Image.fromarray(photo_like(120, 160, 13)).save(
        p, quality=80, progressive=True))
    save("gen_cmyk_64x64.jpg", lambda p: Image.fromarray(photo_like(64, 64, 14)).convert("CMYK").save(p, quality=90))
    save("gen_lossy_96x72.webp", lambda p: Image.fromarray(photo_like(72, 96, 15)).save(p, quality=80))

    def webp_alpha(p):
        a = photo_like(60, 80, 16)
        alpha = np.tile(np.linspace(255, 0, 60).astype(np.uint8)[:, None], (1, 80))
        Image.fromarray(np.dstack([a, alpha]), "RGBA").save(p, lossless=True)
    save("gen_lossless_alpha_80x60.webp", webp_alpha)

    def gif(p):
        frames = [Image.fromarray(photo_like(50, 70, 17 + i)).convert("P", palette=Image.Palette.ADAPTIVE)
                  for i in range(2)]
        frames[0].save(p, save_all=True, append_images=frames[1:], transparency=5, duration=100)
    save("gen_anim_70x50.gif", gif)
    save("gen_bgr24_75x45.bmp", lambda p: Image.fromarray(photo_like(45, 75, 19)).save(p))
    save("gen_bgrx32_50x40.bmp", lambda p: Image.fromarray(np.dstack([photo_like(40, 50, 21), photo_like(40, 50, 22)[..., 0]]),
                                                              "RGBA").save(p))  # Pillow writes 32-bit BI_RGB
    save("gen_bgra32_v5_48x36.bmp", lambda p: p.write_bytes(bmp_v5_bgra(36, 48, 23)))
    save("gen_palette8_64x40.bmp", lambda p: Image.fromarray(photo_like(40, 64, 20)).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=200).save(p))


# (file, min_pixels, max_pixels): which smart_resize branch each hits is in the manifest.
def image_cases():
    cases = [
        ("gen_photo_400x300.jpg", *SMALL),            # max-pixels branch, strong downscale
        ("gen_nonsquare_150x97.png", *SMALL),
        ("gen_tiny_30x20.png", 4096, 9216),           # min-pixels branch: upscale
        ("gen_wide_600x30.png", *SMALL),              # 20:1
        ("gen_grey_120x90.png", *SMALL),
        ("gen_grey_90x120.jpg", *SMALL),
        ("gen_rgba_100x80.png", *SMALL),
        ("gen_palette_trns_110x70.png", *SMALL),
        ("gen_rgb16_64x48.png", *SMALL),
        ("gen_grey16_64x48.png", *SMALL),
        ("gen_exif6_120x80.jpg", *SMALL),
        ("gen_exif3_80x60.jpg", *SMALL),
        ("gen_progressive_160x120.jpg", *SMALL),
        ("gen_cmyk_64x64.jpg", *SMALL),
        ("gen_lossy_96x72.webp", *SMALL),
        ("gen_lossless_alpha_80x60.webp", *SMALL),
        ("gen_anim_70x50.gif", *SMALL),
        ("gen_bgr24_75x45.bmp", *SMALL),
        ("gen_palette8_64x40.bmp", *SMALL),
        ("gen_bgrx32_50x40.bmp", *SMALL),
        ("gen_bgra32_v5_48x36.bmp", *SMALL),
    ]
    # Whatever else lives in testdata/images (e.g. the golden kit's real photos).
    known = {c[0] for c in cases}
    for path in sorted(IMAGES.iterdir()):
        if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp") and path.name not in known:
            cases.append((path.name, *SMALL))
    return cases


def hf_image(path):
    image = Image.open(io.BytesIO(path.read_bytes()))
    return ImageOps.exif_transpose(image)  # transformers.image_utils.load_image does this


def grid_cases():
    sizes = [(336, 592), (480, 640), (750, 1000), (1024, 1024), (224, 224), (1080, 1920), (2160, 3840),
             (5000, 5000), (16, 2048), (20, 3300), (1, 1), (1, 200), (31, 33), (4000, 3000), (3000, 4000),
             (12000, 100), (100, 12000), (8192, 8192), (4096, 4097), (1000, 60), (65, 65), (300, 59999)]
    out = []
    for h, w in sizes:
        for lo, hi in [(65536, 16777216), (1024, 9216), (4096, 1003520)]:
            try:
                rh, rw = smart_resize(h, w, factor=32, min_pixels=lo, max_pixels=hi)
                out.append(dict(height=h, width=w, min_pixels=lo, max_pixels=hi, resized=[rh, rw]))
            except ValueError:
                out.append(dict(height=h, width=w, min_pixels=lo, max_pixels=hi, error=True))
    return out


def video_frame(t, h, w):
    """Same formula as the C++ test: a moving gradient with per-channel phase."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 7 + y * 3 + t * 11 + c * 60) % 256 for c in range(3)], axis=-1).astype(np.uint8)


def make_video_golden(manifest):
    total, fps, h, w = 25, 6.0, 45, 70
    frames = np.stack([video_frame(t, h, w) for t in range(total)])
    proc = Qwen3VLVideoProcessor(size={"shortest_edge": 4096, "longest_edge": 6 * 64 * 96}, **QWEN3)
    meta = VideoMetadata(total_num_frames=total, fps=fps, width=w, height=h, frames_indices=list(range(total)))
    out = proc(videos=[frames], video_metadata=[meta], return_metadata=True, cap_pixels_per_frame=False,
               return_tensors="pt")
    indices = [int(i) for i in out["video_metadata"][0].frames_indices]
    stamps = Qwen3VLProcessor._calculate_timestamps(None, indices, fps, 2)
    save_file({"pixel_values": out["pixel_values_videos"].contiguous(),
               "grid_thw": out["video_grid_thw"].to(torch.int64).contiguous()}, str(OUT / "video_synthetic.safetensors"))
    manifest["video"] = dict(file="video_synthetic.safetensors", total_frames=total, fps=fps, height=h, width=w,
                             min_pixels=4096, max_pixels=6 * 64 * 96, indices=indices,
                             timestamps=[f"<{t:.1f} seconds>" for t in stamps],
                             grid_thw=out["video_grid_thw"][0].tolist())


def make_clip_golden(manifest):
    """The golden kit's 16-frame clip (4 fps) through the video processor at its defaults."""
    clip = sorted((IMAGES / "clip").glob("frame_*.png"))
    if not clip:
        return
    fps = 4.0
    frames = np.stack([np.array(Image.open(p).convert("RGB")) for p in clip])
    proc = Qwen3VLVideoProcessor(size={"shortest_edge": 4096, "longest_edge": 25165824}, **QWEN3)
    meta = VideoMetadata(total_num_frames=len(clip), fps=fps, width=frames.shape[2], height=frames.shape[1],
                         frames_indices=list(range(len(clip))))
    out = proc(videos=[frames], video_metadata=[meta], return_metadata=True, cap_pixels_per_frame=False,
               return_tensors="pt")
    indices = [int(i) for i in out["video_metadata"][0].frames_indices]
    stamps = Qwen3VLProcessor._calculate_timestamps(None, indices, fps, 2)
    save_file({"pixel_values": out["pixel_values_videos"].contiguous(),
               "grid_thw": out["video_grid_thw"].to(torch.int64).contiguous()}, str(OUT / "video_clip.safetensors"))
    manifest["clip"] = dict(file="video_clip.safetensors", frames=[f"clip/{p.name}" for p in clip], fps=fps,
                            min_pixels=4096, max_pixels=25165824, indices=indices,
                            timestamps=[f"<{t:.1f} seconds>" for t in stamps],
                            grid_thw=out["video_grid_thw"][0].tolist())
    print("clip", out["video_grid_thw"][0].tolist(), indices)


def main():
    torch.set_num_threads(1)
    make_samples()
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {"transformers": transformers.__version__, "torch": torch.__version__,
                "processor": "Qwen2VLImageProcessor (torchvision backend)", "images": []}
    for name, lo, hi in image_cases():
        image = hf_image(IMAGES / name)
        proc = Qwen2VLImageProcessor(size={"shortest_edge": lo, "longest_edge": hi}, **QWEN3)
        out = proc(images=[image], return_tensors="pt")
        stem = pathlib.Path(name).stem
        save_file({"pixel_values": out["pixel_values"].contiguous(),
                   "grid_thw": out["image_grid_thw"].to(torch.int64).contiguous()}, str(OUT / f"{stem}.safetensors"))
        manifest["images"].append(dict(image=name, golden=f"{stem}.safetensors", min_pixels=lo, max_pixels=hi,
                                       pil_mode=image.mode, size=list(image.size),
                                       grid_thw=out["image_grid_thw"][0].tolist()))
        print(f"{name:34s} {image.mode:5s} {image.size} -> grid {out['image_grid_thw'][0].tolist()}")
    manifest["smart_resize"] = grid_cases()
    make_video_golden(manifest)
    make_clip_golden(manifest)
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
