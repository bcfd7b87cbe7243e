#!/usr/bin/env python3
"""Reference timings for the image processor: transformers' Qwen3-VL image processor on PNG screenshots,
with its torchvision backend (AutoProcessor's default, `Qwen2VLImageProcessor`) and its PIL backend
(`Qwen2VLImageProcessorPil`), configured like Qwen3-VL's preprocessor_config.json with the agent
profile's pixel limits.

    /tmp/golden-venv/bin/python Benchmarks/Engine/processor_reference.py IMAGE.png [...] \\
        [--min-pixels 65536] [--max-pixels 2073600] [--repeats 20] [--threads 2] [--json OUT.json]

The PNG is decoded once, outside the timing; each call goes from the decoded PIL image to
`pixel_values` and `image_grid_thw`. Two untimed calls first, then the median of --repeats.
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+")
    parser.add_argument("--min-pixels", type=int, default=65536)
    parser.add_argument("--max-pixels", type=int, default=2073600)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = dict(patch_size=16, temporal_patch_size=2, merge_size=2, image_mean=[0.5] * 3, image_std=[0.5] * 3,
                    size={"shortest_edge": args.min_pixels, "longest_edge": args.max_pixels})
    backends = {"torchvision": Qwen2VLImageProcessor(**settings), "pil": Qwen2VLImageProcessorPil(**settings)}
    results = {"transformers": transformers.__version__, "torch": torch.__version__, "threads": args.threads, "images": []}
    for path in args.images:
        image = Image.open(path).convert("RGB")
        entry = {"image": path, "size": list(image.size)}
        for name, processor in backends.items():
            samples = []
            for round_ in range(2 + args.repeats):
                start = time.perf_counter()
                out = processor(images=[image], return_tensors="pt")
                if round_ >= 2:
                    samples.append((time.perf_counter() - start) * 1000)
            entry[name] = {"median_ms": statistics.median(samples), "samples_ms": samples,
                           "grid": out["image_grid_thw"].tolist()[0]}
            print(f"{path} {image.size[0]}x{image.size[1]} {name}: {statistics.median(samples):.1f} ms, "
                  f"grid {entry[name]['grid']}", flush=True)
        results["images"].append(entry)
    text = json.dumps(results, indent=2)
    if args.json:
        open(args.json, "w").write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
