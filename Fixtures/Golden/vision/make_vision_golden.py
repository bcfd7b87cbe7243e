"""Reference data for Qwen3VL.VisionTower (Tests/Qwen3VLTests/VisionTowerTests.swift).

Run: /tmp/golden-venv/bin/python Fixtures/Golden/vision/make_vision_golden.py
Reference: transformers 5.23 `Qwen3VLVisionModel` (model.model.visual) of the tiny checkpoint
Fixtures/Golden/tiny-tied in float32, fed pixel values from `Qwen2VLImageProcessor` configured like
Fixtures/Golden/processor (min_pixels 1024, max_pixels 1048576) for processor/image-0.png (64x96,
grid 1x4x6), image-1.png (100x75 -> 96x64, grid 1x6x4) and image-2.png (333x211, resized; more than
64 patches, so the Swift side's blocked attention runs several query blocks). All images go through ONE packed call
(grid_thw with two rows), so per-image attention (cu_seqlens) is part of what is checked.
Outputs: features-N.f32 ([tokens, out_hidden], the `merger` output = pooler_output),
deepstack-N-K.f32 (one per deepstack_visual_indexes entry K), vision-golden.json.
"""
import json, os
import numpy as np
from PIL import Image
import torch, transformers
from transformers import Qwen3VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.dirname(HERE)
proc = Qwen2VLImageProcessor(patch_size=16, temporal_patch_size=2, merge_size=2,
                             image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
                             min_pixels=1024, max_pixels=1048576)
model = Qwen3VLForConditionalGeneration.from_pretrained(os.path.join(GOLDEN, "tiny-tied"), dtype=torch.float32)
model.eval()
visual = model.model.visual

images = ["image-0.png", "image-1.png", "image-2.png"]
pvs, grids = [], []
for name in images:
    pil = Image.open(os.path.join(GOLDEN, "processor", name)).convert("RGB")
    out = proc(images=[pil], return_tensors="pt")
    pvs.append(out["pixel_values"].to(torch.float32))
    grids.append(out["image_grid_thw"][0].tolist())

with torch.no_grad():
    out = visual(torch.cat(pvs, 0), grid_thw=torch.tensor(grids))
features = out.pooler_output
deepstack = out.deepstack_features
merge = visual.config.spatial_merge_size ** 2
cases, start = [], 0
for n, (name, grid) in enumerate(zip(images, grids)):
    tokens = grid[0] * grid[1] * grid[2] // merge
    f = features[start:start + tokens].numpy().astype("<f4")
    f.tofile(os.path.join(HERE, f"features-{n}.f32"))
    ds = []
    for k, d in enumerate(deepstack):
        d[start:start + tokens].numpy().astype("<f4").tofile(os.path.join(HERE, f"deepstack-{n}-{k}.f32"))
        ds.append(f"deepstack-{n}-{k}.f32")
    cases.append({"image": name, "grid_thw": grid, "tokens": tokens, "shape": list(f.shape),
                  "features": f"features-{n}.f32", "deepstack": ds,
                  "max_abs_features": float(np.abs(f).max())})
    start += tokens

json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
           "checkpoint": "tiny-tied", "min_pixels": 1024, "max_pixels": 1048576,
           "deepstack_visual_indexes": visual.config.deepstack_visual_indexes, "cases": cases},
          open(os.path.join(HERE, "vision-golden.json"), "w"), indent=1)
print(json.dumps(cases, indent=1))
