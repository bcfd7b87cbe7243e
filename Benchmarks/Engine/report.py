#!/usr/bin/env python3
"""Writes the engine benchmark's results into BENCHMARKS.md, between the ENGINE markers.

    python3 Benchmarks/Engine/report.py --ours ours.json [--reference ref-float32.json ...] [--processor-reference p.json]
        [--command CMD] [--write BENCHMARKS.md]

ours.json comes from qwen-agent-engine-bench --json, each reference from transformers_reference.py --json,
the processor reference from processor_reference.py --json.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess

BEGIN = "<!-- ENGINE:BEGIN (scripts/benchmark-engine rewrites everything up to ENGINE:END) -->"
END = "<!-- ENGINE:END -->"


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def swift_version():
    try:
        return subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "?"


def processor_table(ours, reference):
    """Our processor (reused buffer and fresh array) against transformers' two backends, per screenshot."""
    theirs = {tuple(entry["size"]): entry for entry in reference["images"]}
    ours_by_size = {tuple(entry["size"]): entry for entry in ours["processor_images"]}
    ours_by_size.setdefault(tuple(int(v) for v in ours["image"].split("x")), {"reused_buffer_ms": ours["processor_ms"]})
    lines = [
        "", f"Image processor, screenshot → `pixel_values` (median ms; transformers {reference['transformers']}):", "",
        "| screenshot | ours, reused buffer | ours, fresh array | transformers torchvision (default) | transformers PIL |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for size, entry in sorted(ours_by_size.items(), reverse=True):
        ref = theirs.get(size)
        fresh = f"{entry['fresh_array_ms']:.1f}" if "fresh_array_ms" in entry else "–"
        lines.append(f"| {size[0]}×{size[1]} | **{entry['reused_buffer_ms']:.1f}** | {fresh} | "
                     + (f"{ref['torchvision']['median_ms']:.1f} | {ref['pil']['median_ms']:.1f} |" if ref else "– | – |"))
    return lines


def section(ours, references, command, processor_reference=None):
    mb = 1024 * 1024
    lines = [
        BEGIN, "", "### Latest engine results", "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Ours: {ours['engine']}, {swift_version()}, release build",
        f"- Reference: " + "; ".join(
            f"transformers {r['transformers']} (torch {r['torch']}, {r['dtype']}, {r['threads']} threads, {r['attn_implementation']})"
            for r in references) if references else "- Reference: not run (--no-reference)",
        f"- Input: a {ours['image']} screenshot (grid {ours['image_grid_thw'][1]}×{ours['image_grid_thw'][2]} patches, "
        f"{ours['image_tokens']} image tokens) in the desktop-thinking agent's first step: {ours['prompt_tokens']} prompt tokens, "
        "the same token ids for every engine",
        f"- Weights: {ours['weights_bytes'] / mb:.0f} MB of BF16 safetensors; KV cache for prompt + new tokens: {ours['kv_cache_bytes'] / mb:.0f} MB (float32)",
        "",
        "| | " + " | ".join(["qwen-agent (BF16 weights, float32 math)"] + [f"transformers {r['dtype']}" for r in references]) + " |",
        "| --- | " + " | ".join(["---:"] * (1 + len(references))) + " |",
    ]

    def row(name, ours_value, reference_values):
        lines.append(f"| {name} | " + " | ".join([ours_value] + reference_values) + " |")

    row("load (mmap / from_pretrained)", f"{ours['load_ms']:.0f} ms", [f"{r['load_ms']:.0f} ms" for r in references])
    row("image processor", f"{ours['processor_ms']:.1f} ms", [f"{r['processor_ms']:.1f} ms" for r in references])
    row("vision tower", f"{ours['vision_ms'] / 1000:.1f} s", [f"{r['vision_ms'] / 1000:.1f} s" for r in references])
    row("time to first token (processor + vision + prefill)", f"**{ours['time_to_first_token_ms'] / 1000:.1f} s**",
        [f"**{(r['processor_ms'] + r['prefill_ms']) / 1000:.1f} s**" for r in references])
    row("text prefill (transformers: its prefill − its vision tower)", f"{ours['prefill_ms'] / 1000:.1f} s",
        [f"{(r['prefill_ms'] - r['vision_ms']) / 1000:.1f} s" for r in references])
    row("decode tokens/s", f"**{ours['decode_tokens_per_second']:.2f}**", [f"**{r['decode_tokens_per_second']:.2f}**" for r in references])
    row("peak resident memory", f"{ours['peak_rss_mb']:.0f} MB", [f"{r['peak_rss_mb']:.0f} MB" for r in references])
    lines += [
        "",
        f"Memory goal (peak RSS under 1.3 × (weights + KV cache)): {ours['peak_rss_mb']:.0f} MB = "
        f"**{ours['peak_over_weights_plus_kv']:.2f} ×** — {'met' if ours['peak_over_weights_plus_kv'] < 1.3 else 'not met'}.",
    ]
    if "second_step" in ours:
        step = ours["second_step"]
        lines.append(f"Second agent step ({step['images']} screenshots, {step['prompt_tokens']} prompt tokens), ours: first token after "
                     f"**{step['time_to_first_token_with_cache_ms'] / 1000:.1f} s** with the prompt cache ({step['reused_tokens']} tokens "
                     f"and the earlier screenshot's vision rows reused), {step['time_to_first_token_without_cache_ms'] / 1000:.1f} s without.")
    for r in references:
        same = r["greedy_ids"][: len(ours["greedy_ids"])] == ours["greedy_ids"][: len(r["greedy_ids"])]
        lines.append(f"Greedy tokens, ours vs transformers {r['dtype']}: {'identical' if same else 'different'} "
                     f"({len(ours['greedy_ids'])} and {len(r['greedy_ids'])} tokens).")
    if processor_reference:
        lines += processor_table(ours, processor_reference)
    lines += ["", END]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ours", required=True)
    parser.add_argument("--reference", action="append", default=[])
    parser.add_argument("--processor-reference")
    parser.add_argument("--command", default="scripts/benchmark-engine")
    parser.add_argument("--write")
    args = parser.parse_args()
    ours = json.load(open(args.ours))
    references = [json.load(open(path)) for path in args.reference]
    processor_reference = json.load(open(args.processor_reference)) if args.processor_reference else None
    text = section(ours, references, args.command, processor_reference)
    print(text)
    if args.write:
        document = open(args.write).read()
        if BEGIN in document:
            document = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: text, document, flags=re.S)
        else:
            document = document.rstrip() + "\n\n" + text + "\n"
        open(args.write, "w").write(document)


if __name__ == "__main__":
    main()
