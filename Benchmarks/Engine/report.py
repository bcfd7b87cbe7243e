#!/usr/bin/env python3
"""Writes the engine benchmark's results into BENCHMARKS.md, between the ENGINE markers.

    python3 Benchmarks/Engine/report.py --ours ours-f32.json [--ours ours-bf16.json ...] [--ours-logits f32.logits ...]
        [--large ours-1920x1080.json] [--reference ref-float32.json ...] [--llamacpp llama-q8_0.json ...]
        [--processor-reference p.json] [--command CMD] [--load "1.0 2.0 3.0"] [--write BENCHMARKS.md]

Each ours*.json comes from qwen-agent-engine-bench --json (one per precision and weight format; the
float32 one first, as the baseline the others' fidelity is measured against), its logits from --logits-out, each reference from transformers_reference.py --json,
each llama.cpp run from llamacpp_reference.py --json, the processor reference from processor_reference.py --json.
"""
import argparse
import array
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


def mode(run):
    return f"{run.get('precision', 'f32')} precision, {run.get('weight_format', 'bf16')} weights"


def logits(path):
    return array.array("f", open(path, "rb").read()) if path and os.path.exists(path) else None


def fidelity(run, baseline, run_logits, baseline_logits):
    """Max |Δlogit| / max |logit| of the prefill's logits, and the leading greedy tokens equal to float32's."""
    agree = 0
    for a, b in zip(run["greedy_ids"], baseline["greedy_ids"]):
        if a != b:
            break
        agree += 1
    tokens = f"{agree} of {min(len(run['greedy_ids']), len(baseline['greedy_ids']))}"
    if run_logits is None or baseline_logits is None:
        return "–", tokens
    scale = max(abs(v) for v in baseline_logits)
    worst = max(abs(a - b) for a, b in zip(run_logits, baseline_logits))
    return f"{worst / scale:.2e}", tokens


def llama_name(run):
    return f"llama.cpp {run['label']}"


def section(runs, references, command, processor_reference=None, large=None, steps=None, llamas=(), load=None):
    """`runs`: (our JSON, our first-token logits or None) per mode, float32 first when it ran."""
    mb = 1024 * 1024
    ours = [run for run, _ in runs]
    first = ours[0]
    llamas = list(llamas)
    with open("/proc/loadavg") as f:
        load_after = " ".join(f.read().split()[:3])
    lines = [
        BEGIN, "", "### Latest engine results", "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Ours: {first['engine']}, {swift_version()}, release build; modes: " + "; ".join(mode(r) for r in ours),
        f"- Reference: " + "; ".join(
            f"transformers {r['transformers']} (torch {r['torch']}, {r['dtype']}, {r['threads']} threads, {r['attn_implementation']})"
            for r in references) if references else "- Reference: not run (--no-reference)",
        f"- llama.cpp: commit {llamas[0]['commit']}, built with GGML_NATIVE=ON, llama-mtmd-cli {llamas[0]['threads']} threads, "
        f"weights " + ", ".join(f"{r['label']} ({r['model_bytes'] / mb:.0f} MB)" for r in llamas)
        + f", vision projector F16 ({llamas[0]['mmproj_bytes'] / mb:.0f} MB); the screenshot given resized to the size our processor picks, "
        f"the same system prompt and texts through its own chat template: {llamas[0]['prompt_tokens']} prompt tokens"
        if llamas else "- llama.cpp: not run (--no-llamacpp)",
        f"- Machine load (1, 5, 15-minute averages) before the run: {load or '?'}; after: {load_after}",
        f"- Input: a {first['image']} screenshot (grid {first['image_grid_thw'][1]}×{first['image_grid_thw'][2]} patches, "
        f"{first['image_tokens']} image tokens) in the desktop-thinking agent's first step: {first['prompt_tokens']} prompt tokens, "
        "the same token ids for every engine",
        f"- Weights: {first['weights_bytes'] / mb:.0f} MB of BF16 safetensors",
        "",
        "| | " + " | ".join([f"qwen-agent {mode(r)}" for r in ours] + [f"transformers {r['dtype']}" for r in references]
                            + [llama_name(r) for r in llamas]) + " |",
        "| --- | " + " | ".join(["---:"] * (len(ours) + len(references) + len(llamas))) + " |",
    ]

    def row(name, ours_values, reference_values, llama_values=None):
        lines.append(f"| {name} | " + " | ".join(ours_values + reference_values + (llama_values or ["–" for _ in llamas])) + " |")

    row("load (mmap; int8, int4: + quantize or map the saved file / from_pretrained / llama.cpp's)", [f"{r['load_ms']:.0f} ms" for r in ours],
        [f"{r['load_ms']:.0f} ms" for r in references], [f"{r['load_ms']:.0f} ms" for r in llamas])
    row("image processor", [f"{r['processor_ms']:.1f} ms" for r in ours], [f"{r['processor_ms']:.1f} ms" for r in references])
    row("vision tower", [f"{r['vision_ms'] / 1000:.1f} s" for r in ours], [f"{r['vision_ms'] / 1000:.1f} s" for r in references],
        [f"{r['vision_ms'] / 1000:.1f} s" if r.get("vision_ms") else "–" for r in llamas])
    row("time to first token (processor + vision + prefill; llama.cpp: its prompt eval)",
        [f"**{r['time_to_first_token_ms'] / 1000:.1f} s**" for r in ours],
        [f"**{(r['processor_ms'] + r['prefill_ms']) / 1000:.1f} s**" for r in references],
        [f"**{r['time_to_first_token_ms'] / 1000:.1f} s**" for r in llamas])
    row("text prefill (transformers, llama.cpp: time to first token − vision tower)", [f"{r['prefill_ms'] / 1000:.1f} s" for r in ours],
        [f"{(r['prefill_ms'] - r['vision_ms']) / 1000:.1f} s" for r in references], [f"{r['prefill_ms'] / 1000:.1f} s" if r.get("vision_ms") else "–" for r in llamas])
    row("decode tokens/s", [f"**{r['decode_tokens_per_second']:.2f}**" for r in ours], [f"**{r['decode_tokens_per_second']:.2f}**" for r in references],
        [f"**{r['decode_tokens_per_second']:.2f}**" for r in llamas])
    row("decode, median ms per token", [f"{r['decode_ms_per_token_median']:.0f}" for r in ours],
        [f"{r['decode_ms_per_token_median']:.0f}" if "decode_ms_per_token_median" in r else "–" for r in references],
        ["–" for _ in llamas])
    row("KV cache (prompt + new tokens)", [f"{r['kv_cache_bytes'] / mb:.0f} MB" for r in ours], ["–" for _ in references])
    row("peak resident memory", [f"{r['peak_rss_mb']:.0f} MB" for r in ours], [f"{r['peak_rss_mb']:.0f} MB" for r in references],
        [f"{r['peak_rss_mb']:.0f} MB" for r in llamas])
    row("peak / (checkpoint file + KV cache)", [f"{r['peak_over_weights_plus_kv']:.2f} ×" for r in ours], ["–" for _ in references])
    if any("second_step" in r for r in ours):
        row("second step, first token with the prompt cache", [f"{r['second_step']['time_to_first_token_with_cache_ms'] / 1000:.1f} s"
                                                                if "second_step" in r else "–" for r in ours], ["–" for _ in references])
        row("second step, without it", [f"{r['second_step']['time_to_first_token_without_cache_ms'] / 1000:.1f} s"
                                        if "second_step" in r else "–" for r in ours], ["–" for _ in references])
    baseline = next(((r, l) for r, l in runs if r.get("precision", "f32") == "f32" and r.get("weight_format", "bf16") == "bf16"), None)
    if baseline:
        measured = [fidelity(r, baseline[0], l, baseline[1]) for r, l in runs]
        row("first token's logits: max \\|Δ\\| / max \\|logit\\| against our float32", [m[0] for m in measured], ["–" for _ in references])
        row("greedy tokens equal to our float32's", [m[1] for m in measured], ["–" for _ in references])
    lines.append("")
    bf16_reference = next((r for r in references if r["dtype"] == "bfloat16"), None)
    if bf16_reference:
        reference_ttft = bf16_reference["processor_ms"] + bf16_reference["prefill_ms"]
        for r in ours:
            lines.append(f"- {mode(r)}: time to first token **{r['time_to_first_token_ms'] / reference_ttft:.2f} ×** transformers bfloat16's, "
                         f"decode **{r['decode_tokens_per_second'] / bf16_reference['decode_tokens_per_second']:.2f} ×** its tokens/s.")
    # llama.cpp at equal weight precision: BF16 weights against its BF16, int8 against its Q8_0, int4 against its Q4_0.
    peers = {"bf16": "BF16", "int8": "Q8_0", "int4": "Q4_0"}
    for r in ours:
        peer = next((l for l in llamas if r.get("precision") == "bf16" and l["label"] == peers.get(r.get("weight_format"))), None)
        if peer:
            lines.append(f"- {mode(r)} against {llama_name(peer)}: decode **{r['decode_tokens_per_second'] / peer['decode_tokens_per_second']:.2f} ×** "
                         f"its tokens/s, time to first token **{r['time_to_first_token_ms'] / peer['time_to_first_token_ms']:.2f} ×** its, "
                         f"peak memory **{r['peak_rss_mb'] / peer['peak_rss_mb']:.2f} ×** its.")
    for l in llamas:
        if "bench_text_decode_tokens_per_second" in l:
            lines.append(f"- {llama_name(l)}, `llama-bench -p 0 -n {l['bench_tokens']} -t {l['threads']}` (text only, empty context): "
                         f"{l['bench_text_decode_tokens_per_second']:.2f} ± {l['bench_text_decode_stddev']:.2f} tokens/s.")
    by_format = {r.get("weight_format"): r for r in ours if r.get("precision") == "bf16"}
    for quantized in ("int8", "int4"):
        if quantized in by_format and "bf16" in by_format:
            lines.append(f"- Peak memory, {quantized} weights against BF16 weights (bf16 precision): "
                         f"**{by_format[quantized]['peak_rss_mb'] / by_format['bf16']['peak_rss_mb']:.2f} ×**.")
    if large:
        lines += ["", f"A {large['image']} screenshot ({large['prompt_tokens']} prompt tokens, {large['image_tokens']} image tokens), "
                      f"{mode(large)}: vision tower {large['vision_ms'] / 1000:.1f} s, prefill {large['prefill_ms'] / 1000:.1f} s, "
                      f"time to first token **{large['time_to_first_token_ms'] / 1000:.1f} s**, decode {large['decode_tokens_per_second']:.2f} tokens/s, "
                      f"peak {large['peak_rss_mb']:.0f} MB."]
    if steps:
        run = steps["agent_steps"]
        lines += ["", f"An agent run of {run['count']} steps through the prompt cache ({mode(steps)}; each step: a new {steps['image']} "
                      f"screenshot through the vision tower, the previous one kept, {run['new_tokens']} reply tokens): "
                      f"**{run['mean_later_step_ms'] / 1000:.1f} s** per step after the first ({run['step_ms'][0] / 1000:.1f} s)."]
    for r in references:
        same = r["greedy_ids"][: len(first["greedy_ids"])] == first["greedy_ids"][: len(r["greedy_ids"])]
        lines.append(f"Greedy tokens, ours ({mode(first)}) vs transformers {r['dtype']}: {'identical' if same else 'different'} "
                     f"({len(first['greedy_ids'])} and {len(r['greedy_ids'])} tokens).")
    if processor_reference:
        lines += processor_table(first, processor_reference)
    lines += ["", END]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ours", action="append", required=True, help="our JSON, one per mode (float32 first)")
    parser.add_argument("--ours-logits", action="append", default=[], help="each mode's first-token logits, in --ours order")
    parser.add_argument("--large", help="our JSON for the large screenshot")
    parser.add_argument("--steps", help="our JSON of an agent run (--steps N)")
    parser.add_argument("--reference", action="append", default=[])
    parser.add_argument("--llamacpp", action="append", default=[], help="llamacpp_reference.py's JSON, one per weight type")
    parser.add_argument("--load", help="/proc/loadavg's first three fields before the run")
    parser.add_argument("--processor-reference")
    parser.add_argument("--command", default="scripts/benchmark-engine")
    parser.add_argument("--write")
    args = parser.parse_args()
    runs = [(json.load(open(path)), logits(args.ours_logits[i] if i < len(args.ours_logits) else None)) for i, path in enumerate(args.ours)]
    large = json.load(open(args.large)) if args.large else None
    steps = json.load(open(args.steps)) if args.steps else None
    references = [json.load(open(path)) for path in args.reference]
    processor_reference = json.load(open(args.processor_reference)) if args.processor_reference else None
    llamas = [json.load(open(path)) for path in args.llamacpp]
    text = section(runs, references, args.command, processor_reference, large, steps, llamas, args.load)
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
