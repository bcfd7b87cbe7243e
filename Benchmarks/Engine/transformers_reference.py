#!/usr/bin/env python3
"""Reference timings for the engine benchmark: Hugging Face transformers running Qwen3-VL on the CPU.

    /tmp/golden-venv/bin/python Benchmarks/Engine/transformers_reference.py \\
        --model DIR --tokenizer DIR --image PNG --input-ids FILE.json \\
        [--new-tokens 16] [--repeats 3] [--warmup 1] [--threads 2] [--dtype float32|bfloat16] [--json OUT.json]

Inputs are the ones our Swift benchmark used: FILE.json is {"input_ids": [...], "image_grid_thw": [[t, h, w]],
"min_pixels": N?, "max_pixels": N?} with the image pads already expanded. The image goes through the processor
(Qwen3VLProcessor: tokenizer of --tokenizer, default torchvision Qwen2VLImageProcessor configured from the model
folder's preprocessor_config.json, else the Qwen3-VL defaults; min/max pixels of FILE.json as
size={"shortest_edge", "longest_edge"}); its grid must equal the given one, and the prompt must hold t*h*w/4
<|image_pad|> tokens. The given ids are used as they are (no re-tokenization).

Measured after --warmup untimed rounds, --repeats times each; the median and every sample are reported (ms):
  load_ms       Qwen3VLForConditionalGeneration.from_pretrained(dtype=...) (once)
  processor_ms  the image processor alone on the already decoded PIL image
  vision_ms     model.model.visual(pixel_values, grid_thw=...): vision tower, merger and DeepStack mergers
  prefill_ms    inside one greedy model.generate() call with pixel_values (vision tower included): from the call
                to the first new token reaching the streamer, i.e. the time to the first token
  decode_ms     the same call's --new-tokens - 1 following tokens, each timed as it reaches the streamer (a
                BaseStreamer that stamps every put()); no stop on EOS (generation's eos_token_id is cleared).
                decode_tokens_per_second = (new_tokens - 1) / decode_ms; decode_ms_per_token_median is the
                median of the per-token intervals, which host noise moves less than a total does.
Timing tokens inside one generate() call, not as the difference of two calls, keeps the noise of a long
prefill out of the decode figure.
peak_rss_mb and rss_after_load_mb are getrusage(RUSAGE_SELF).ru_maxrss high-water marks.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torchvision
import transformers
from PIL import Image
from transformers.generation.streamers import BaseStreamer
from transformers import (AutoImageProcessor, AutoTokenizer, Qwen2VLImageProcessor, Qwen3VLForConditionalGeneration,
                          Qwen3VLProcessor, Qwen3VLVideoProcessor)

# Qwen3-VL's preprocessor_config.json (used when the model folder has none).
QWEN3_VL_IMAGE_DEFAULTS = dict(patch_size=16, temporal_patch_size=2, merge_size=2, image_mean=[0.5] * 3,
                               image_std=[0.5] * 3, size={"shortest_edge": 65536, "longest_edge": 16777216})


def rss_mb():
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilobytes / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux


def timed(body):
    start = time.perf_counter()
    result = body()
    return (time.perf_counter() - start) * 1000, result


def build_processor(model_dir, tokenizer_dir):
    if os.path.exists(os.path.join(model_dir, "preprocessor_config.json")):
        image_processor = AutoImageProcessor.from_pretrained(model_dir)
    else:
        image_processor = Qwen2VLImageProcessor(**QWEN3_VL_IMAGE_DEFAULTS)
    return Qwen3VLProcessor(image_processor=image_processor, tokenizer=AutoTokenizer.from_pretrained(tokenizer_dir),
                            video_processor=Qwen3VLVideoProcessor())


class TokenClock(BaseStreamer):
    """Stamps each token generate() streams: the first put() is the prompt, each later one a new token."""

    def __init__(self):
        self.prompt_seen = False
        self.stamps = []
        self.ids = []

    def put(self, value):
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.stamps.append(time.perf_counter())
        self.ids += value.reshape(-1).tolist()

    def end(self):
        pass


def greedy(model, inputs, new_tokens):
    """One greedy generate() call; returns (prefill ms, decode ms, per-token decode ms, the new token ids)."""
    clock = TokenClock()
    start = time.perf_counter()
    model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False, temperature=None, top_k=None, top_p=None,
                   eos_token_id=None, pad_token_id=model.config.text_config.bos_token_id, streamer=clock)
    if len(clock.stamps) != new_tokens:
        sys.exit(f"generate() streamed {len(clock.stamps)} tokens, expected {new_tokens}")
    intervals = [(b - a) * 1000 for a, b in zip(clock.stamps, clock.stamps[1:])]
    return (clock.stamps[0] - start) * 1000, (clock.stamps[-1] - clock.stamps[0]) * 1000, intervals, clock.ids


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Hugging Face Qwen3-VL folder")
    parser.add_argument("--tokenizer", help="folder with the tokenizer files (default: --model)")
    parser.add_argument("--image", required=True, help="PNG")
    parser.add_argument("--input-ids", required=True, help="JSON written by the Swift benchmark")
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds of every measurement first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--json", help="write the results here instead of stdout")
    args = parser.parse_args()
    if args.new_tokens < 2 or args.repeats < 1 or args.warmup < 0:
        parser.error("need --new-tokens >= 2, --repeats >= 1, --warmup >= 0")
    torch.set_num_threads(args.threads)
    transformers.utils.logging.disable_progress_bar()

    with open(args.input_ids) as f:
        spec = json.load(f)
    processor = build_processor(args.model, args.tokenizer or args.model)
    image_kwargs = {"return_tensors": "pt"}
    if "min_pixels" in spec or "max_pixels" in spec:
        size = processor.image_processor.size
        image_kwargs["size"] = {"shortest_edge": spec.get("min_pixels", size.shortest_edge),
                                "longest_edge": spec.get("max_pixels", size.longest_edge)}
    image = Image.open(args.image).convert("RGB")  # decoded once, outside every timing

    def process_image():
        return processor.image_processor(images=[image], **image_kwargs)

    processed = process_image()
    grid = processed["image_grid_thw"]
    if grid.tolist() != spec["image_grid_thw"]:
        sys.exit(f"image grid {grid.tolist()} != {spec['image_grid_thw']} from {args.input_ids}")

    load_ms, model = timed(lambda: Qwen3VLForConditionalGeneration.from_pretrained(
        args.model, dtype=getattr(torch, args.dtype)).eval())
    rss_after_load = rss_mb()
    image_token_id = model.config.image_token_id
    input_ids = torch.tensor([spec["input_ids"]])
    pads = int(grid.prod(-1).sum()) // processor.image_processor.merge_size ** 2
    if (input_ids == image_token_id).sum().item() != pads:
        sys.exit(f"{args.input_ids} holds {(input_ids == image_token_id).sum().item()} image pads, grid needs {pads}")
    inputs = dict(input_ids=input_ids, pixel_values=processed["pixel_values"], image_grid_thw=grid,
                  mm_token_type_ids=torch.tensor(processor.create_mm_token_type_ids([spec["input_ids"]])))
    visual = model.model.visual

    samples = {"processor": [], "vision": [], "prefill": [], "decode": []}
    token_intervals = []
    greedy_ids = None
    with torch.inference_mode():
        for round_ in range(args.warmup + args.repeats):
            processor_ms, _ = timed(process_image)
            vision_ms, _ = timed(lambda: visual(processed["pixel_values"].to(visual.dtype), grid_thw=grid))
            prefill_ms, decode_ms, intervals, ids = greedy(model, inputs, args.new_tokens)
            if greedy_ids is not None and ids != greedy_ids:
                sys.exit(f"greedy ids changed between rounds: {greedy_ids} then {ids}")
            greedy_ids = ids
            if round_ >= args.warmup:
                for name, ms in zip(samples, (processor_ms, vision_ms, prefill_ms, decode_ms)):
                    samples[name].append(ms)
                token_intervals += intervals

    medians = {name: statistics.median(values) for name, values in samples.items()}
    results = {
        "torch": torch.__version__, "torchvision": torchvision.__version__, "transformers": transformers.__version__,
        "threads": torch.get_num_threads(), "dtype": args.dtype,
        "attn_implementation": model.config._attn_implementation,
        "model": os.path.abspath(args.model), "image": os.path.abspath(args.image), "image_size": list(image.size),
        "prompt_tokens": input_ids.shape[1], "image_grid_thw": grid.tolist(), "image_tokens": pads,
        "new_tokens": args.new_tokens, "repeats": args.repeats, "warmup": args.warmup,
        "load_ms": load_ms, "rss_after_load_mb": rss_after_load,
    }
    for name, values in samples.items():
        results[f"{name}_ms"], results[f"{name}_ms_samples"] = medians[name], values
    results["prefill_tokens_per_second"] = input_ids.shape[1] / (medians["prefill"] / 1000)
    results["decode_tokens_per_second"] = (args.new_tokens - 1) / (medians["decode"] / 1000)
    results["decode_ms_per_token_median"] = statistics.median(token_intervals)
    results["decode_ms_per_token_samples"] = token_intervals
    results["greedy_ids"] = greedy_ids
    results["greedy_text"] = processor.tokenizer.decode(greedy_ids)
    results["peak_rss_mb"] = rss_mb()

    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {results['threads']} threads, "
          f"{args.dtype}, {results['attn_implementation']}; load {load_ms:.0f} ms\n"
          f"processor {medians['processor']:.2f} ms, vision {medians['vision']:.2f} ms (grid {grid.tolist()[0]})\n"
          f"prefill {input_ids.shape[1]} tokens {medians['prefill']:.2f} ms "
          f"({results['prefill_tokens_per_second']:.1f} tokens/s)\n"
          f"decode {args.new_tokens - 1} tokens {medians['decode']:.2f} ms "
          f"({results['decode_tokens_per_second']:.1f} tokens/s)\n"
          f"RSS after load {rss_after_load:.0f} MB, peak {results['peak_rss_mb']:.0f} MB; "
          f"medians of {args.repeats}; greedy {greedy_ids}", file=sys.stderr)
    text = json.dumps(results, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
