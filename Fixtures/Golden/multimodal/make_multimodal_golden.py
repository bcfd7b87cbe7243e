#!/usr/bin/env python3
"""What transformers computes for a prompt with an image, on the tiny-tied checkpoint.

Run with the venv of ../README.md: /tmp/golden-venv/bin/python Fixtures/Golden/multimodal/make_multimodal_golden.py
Writes multimodal-golden.json (input ids with the image pads expanded, grid, 3-stream position ids,
rope delta, greedy continuation) and logits.f32 (last position, float32 little-endian).
The image is ../processor/image-0.png (64x96: no resize), processed with min_pixels 1024.
"""
import json
import os

import numpy as np
import torch
from PIL import Image
from transformers import AutoTokenizer, Qwen3VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODEL = os.path.join(ROOT, "Golden", "tiny-tied")
IMAGE = os.path.join(ROOT, "Golden", "processor", "image-0.png")


def main():
    torch.manual_seed(0)
    model = Qwen3VLForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(ROOT, "QwenTokenizer"))
    processor = Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2, image_mean=[0.5] * 3,
                                      image_std=[0.5] * 3, min_pixels=1024, max_pixels=1048576)
    image = Image.open(IMAGE).convert("RGB")
    processed = processor(images=[image], return_tensors="pt")
    pixel_values, grid = processed["pixel_values"], processed["image_grid_thw"]
    pads = int(grid[0].prod().item()) // 4
    text = ("<|im_start|>user\n<|vision_start|>" + "<|image_pad|>" * pads + "<|vision_end|>Where is the button?<|im_end|>\n"
            "<|im_start|>assistant\n")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    input_ids = torch.tensor([ids])
    mm_types = (input_ids == 151655).int()
    with torch.no_grad():
        positions, delta = model.model.get_rope_index(input_ids, mm_types, image_grid_thw=grid)
        out = model(input_ids=input_ids, pixel_values=pixel_values, image_grid_thw=grid, mm_token_type_ids=mm_types)
        logits = out.logits[0, -1]
        generated = model.generate(input_ids=input_ids, pixel_values=pixel_values, image_grid_thw=grid,
                                   mm_token_type_ids=mm_types, do_sample=False, max_new_tokens=8, min_new_tokens=8)
    logits.numpy().astype("<f4").tofile(os.path.join(HERE, "logits.f32"))
    golden = dict(image="../processor/image-0.png", min_pixels=1024, max_pixels=1048576, grid_thw=grid[0].tolist(),
                  input_ids=ids, position_ids=positions[:, 0].tolist(), rope_delta=int(delta[0].item()),
                  greedy_new_ids=generated[0, len(ids):].tolist())
    with open(os.path.join(HERE, "multimodal-golden.json"), "w") as f:
        json.dump(golden, f)
    print(grid.tolist(), len(ids), golden["rope_delta"], golden["greedy_new_ids"], logits[:4].tolist())


if __name__ == "__main__":
    main()
