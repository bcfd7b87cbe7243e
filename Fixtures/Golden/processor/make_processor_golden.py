"""Reference data for Qwen3VL.ImageProcessor (Tests/Qwen3VLTests/ImageProcessorTests.swift).

Run: /tmp/golden-venv/bin/python Fixtures/Golden/processor/make_processor_golden.py
Reference: transformers 5.23 `Qwen2VLImageProcessor` (the torchvision backend, which is what
`AutoProcessor` / `Qwen2VLImageProcessorFast` resolves to for Qwen3-VL): uint8 tensor ->
torchvision resize(BICUBIC, antialias=True) on uint8 -> float32 (p - 127.5) / 127.5 -> patchify.
Configured like Fixtures/Qwen3VLConfig/preprocessor_config.json (patch 16, merge 2, temporal 2,
mean/std 0.5) EXCEPT min_pixels = 1024 and max_pixels = 1048576, so that the small test images are
not upscaled to the real minimum of 65536 pixels (the smart_resize table uses the real limits).
"""
import json, math, os
import numpy as np
from PIL import Image
import torch, torchvision, transformers
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor, smart_resize

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_PIXELS, MAX_PIXELS = 1024, 1048576

proc = Qwen2VLImageProcessor(patch_size=16, temporal_patch_size=2, merge_size=2,
                             image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
                             min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)

rng = np.random.default_rng(20261123)
# (width, height). As H x W: 64x96 (no resize), 100x75, 333x211 (both sides resampled),
# 90x128 (height upscaled only, like 1920x1080 -> 1920x1088), 80x96 (80/32 = 2.5 rounds to 2: height
# downscaled only)
sizes = [(96, 64), (75, 100), (211, 333), (128, 90), (96, 80)]
images = []
for n, (w, h) in enumerate(sizes):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([255 * xx / max(w - 1, 1), 255 * yy / max(h - 1, 1),
                     127.5 + 127.5 * np.sin((xx + 2 * yy) / 7.0)], axis=-1)
    noise = rng.normal(0, 8, size=(h, w, 3))
    # a few hard edges so the antialiasing/ringing paths are exercised
    block = ((xx // 9 + yy // 13) % 2 == 0)[..., None] * 60.0
    img = np.clip(base + noise + block - 30, 0, 255).round().astype(np.uint8)
    images.append(img)

cases = []
for n, img in enumerate(images):
    pil = Image.fromarray(img, "RGB")
    pil.save(os.path.join(HERE, f"image-{n}.png"))
    # re-read from PNG so the golden is computed from exactly the stored pixels
    pil = Image.open(os.path.join(HERE, f"image-{n}.png")).convert("RGB")
    out = proc(images=[pil], return_tensors="pt")
    pv = out["pixel_values"].to(torch.float32).numpy()
    grid = out["image_grid_thw"][0].tolist()
    # pixel values are (p - 127.5) / 127.5 in float32 for integer levels p. Cases 2+ are stored as
    # the reference's resized uint8 image (PNG, un-patchified from pixel_values; checked here to
    # reproduce the float32 tensor bit for bit), cases 0 and 1 as raw float32.
    levels = np.rint(pv.astype(np.float64) * 127.5 + 127.5)
    assert levels.min() >= 0 and levels.max() <= 255
    levels = levels.astype(np.uint8)
    assert np.array_equal(((levels.astype(np.float32) - np.float32(127.5)) / np.float32(127.5)), pv)
    gh, gw = grid[1], grid[2]
    # [gh/2, gw/2, 2, 2, 3, 2(t), 16, 16] -> [3, gh/2, 2, 16, gw/2, 2, 16] (frame t = 0)
    v = levels.reshape(gh // 2, gw // 2, 2, 2, 3, 2, 16, 16)
    assert np.array_equal(v[:, :, :, :, :, 0], v[:, :, :, :, :, 1])
    resized = v[:, :, :, :, :, 0].transpose(0, 2, 5, 1, 3, 6, 4).reshape(gh * 16, gw * 16, 3)
    if n <= 1:
        values_file = f"pixel_values-{n}.f32"
        pv.astype("<f4").tofile(os.path.join(HERE, values_file))
    else:
        values_file = f"resized-{n}.png"
        Image.fromarray(resized, "RGB").save(os.path.join(HERE, values_file))
    h, w = img.shape[:2]
    rh, rw = smart_resize(h, w, factor=32, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    cases.append({"image": f"image-{n}.png", "pixel_values": values_file,
                  "height": h, "width": w, "resized_height": rh, "resized_width": rw,
                  "grid_thw": grid, "shape": list(pv.shape)})
    print(n, img.shape, "->", (rh, rw), grid, pv.shape)

# smart_resize table with the real limits (65536 .. 16777216), factor 32, plus custom limits
table = []
def add(h, w, mn=65536, mx=16777216):
    rh, rw = smart_resize(h, w, factor=32, min_pixels=mn, max_pixels=mx)
    table.append({"height": h, "width": w, "min_pixels": mn, "max_pixels": mx,
                  "resized_height": rh, "resized_width": rw})
for h, w in [(1080, 1920), (768, 1366), (720, 1280), (1440, 2560), (2160, 3840), (2400, 1080),
             (600, 800), (100, 100), (31, 5000), (5000, 31), (48, 48), (80, 80), (720, 720),
             (1, 200), (4320, 7680), (8000, 8000), (333, 211), (96, 64), (75, 100)]:
    add(h, w)
# ties for round-half-to-even: 720/32 = 22.5 -> 22, 784/32 = 24.5 -> 24, 752/32 = 23.5 -> 24
for h, w in [(720, 752), (784, 1200), (48, 1040)]:
    add(h, w, 1024, 16777216)
for h, w in [(1080, 1920), (2160, 3840), (31, 5000), (333, 211), (75, 100)]:
    add(h, w, MIN_PIXELS, MAX_PIXELS)
    add(h, w, 3136, 16 * 16 * 4 * 1280)

meta = {"transformers": transformers.__version__, "torch": torch.__version__,
        "torchvision": torchvision.__version__, "processor": type(proc).__name__,
        "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS, "cases": cases, "smart_resize": table}
with open(os.path.join(HERE, "processor-golden.json"), "w") as f:
    json.dump(meta, f, indent=1)
