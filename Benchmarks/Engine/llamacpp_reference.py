#!/usr/bin/env python3
"""Reference timings for the engine benchmark: llama.cpp's llama-mtmd-cli on the same agent step.

    python3 Benchmarks/Engine/llamacpp_reference.py --bin BUILD/bin --model TEXT.gguf --mmproj MMPROJ.gguf \\
        --image RESIZED.png --prompt-spec ids.json --label Q8_0 [--new-tokens 16] [--threads 2] [--commit TEXT] \\
        [--bench-tokens 32] [--json OUT.json]

The step is the one our engine and transformers run: the system prompt and the two user texts come from
the JSON qwen-agent-engine-bench writes with --ids-out ("system", "task", "question"), the screenshot is
given already resized to the size our image processor chooses (so both see the same image tokens), and
llama-mtmd-cli formats them with the model's own chat template (--jinja): `-sys SYSTEM -p "TASK\\n<image>
QUESTION"`, greedy (--temp 0), --ignore-eos, -n N, -t THREADS, -c 4096. Its token count is its own, so
it is reported next to ours.

Read from its log (-lv 4): "prompt eval time" (it runs from the first prompt batch to the first
synchronisation, so it already includes the vision encoder, which runs in between), "image slice encoded
in" (the vision encoder alone), "eval time ... / N runs" (decode, one token per run). Peak resident
memory is the child's ru_maxrss. Then `llama-bench -p 0 -n --bench-tokens` measures text-only decode on an
empty context (its own median of 3 repetitions), the figure llama.cpp users quote.
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time


def field(pattern, text, name):
    match = re.search(pattern, text)
    if not match:
        sys.exit(f"llamacpp_reference: no {name} in llama-mtmd-cli's log (pattern {pattern!r}); see the log above")
    return match


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="folder with llama-mtmd-cli and llama-bench")
    parser.add_argument("--model", required=True, help="text model GGUF")
    parser.add_argument("--mmproj", required=True, help="vision projector GGUF")
    parser.add_argument("--image", required=True, help="the screenshot, already at the size our processor picks")
    parser.add_argument("--prompt-spec", required=True, help="JSON from qwen-agent-engine-bench --ids-out")
    parser.add_argument("--label", required=True, help="the weights' type, e.g. BF16 or Q8_0")
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--commit", default="?", help="the llama.cpp commit, for the report")
    parser.add_argument("--bench-tokens", type=int, default=32, help="llama-bench's decode tokens (0: skip it)")
    parser.add_argument("--json", help="write the results here instead of stdout")
    args = parser.parse_args()

    spec = json.load(open(args.prompt_spec))
    command = [os.path.join(args.bin, "llama-mtmd-cli"), "-m", args.model, "--mmproj", args.mmproj, "--image", args.image,
               "--jinja", "-sys", spec["system"], "-p", f"{spec['task']}\n<__media__>{spec['question']}",
               "--temp", "0", "--ignore-eos", "-n", str(args.new_tokens), "-t", str(args.threads), "-c", "4096", "-lv", "4"]
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, errors="replace")  # random weights write broken UTF-8
    wall_ms = (time.perf_counter() - start) * 1000
    log = run.stdout + run.stderr
    if run.returncode != 0:
        sys.stderr.write(log[-4000:])
        sys.exit(f"llamacpp_reference: llama-mtmd-cli exited with {run.returncode}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    prompt = field(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens", log, "prompt eval time")
    decode = field(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs", log, "eval time")
    load = field(r"load time =\s*([\d.]+) ms", log, "load time")
    vision = [float(v) for v in re.findall(r"image slice encoded in (\d+) ms", log)]
    image_tokens = re.search(r"n_tokens_batch = (\d+)", log) or re.search(r"image_tokens->nx = (\d+)", log)
    prompt_ms, prompt_tokens = float(prompt.group(1)), int(prompt.group(2))
    decode_ms, decode_runs = float(decode.group(1)), int(decode.group(2))
    results = {
        "engine": "llama.cpp", "label": args.label, "commit": args.commit, "threads": args.threads,
        "model": os.path.abspath(args.model), "mmproj": os.path.abspath(args.mmproj),
        "model_bytes": os.path.getsize(args.model), "mmproj_bytes": os.path.getsize(args.mmproj),
        "command": " ".join(command[:1] + [c if len(c) < 80 else "…" for c in command[1:]]),
        # None when this build logs no per-slice encoder time
        "load_ms": float(load.group(1)), "vision_ms": sum(vision) if vision else None,
        "prompt_tokens": prompt_tokens, "image_tokens": int(image_tokens.group(1)) if image_tokens else None,
        # its prompt eval spans the vision encoder (see above): that is the time to the first token
        "time_to_first_token_ms": prompt_ms, "prefill_ms": prompt_ms - sum(vision),
        "decode_ms": decode_ms, "decode_runs": decode_runs,
        "decode_tokens_per_second": decode_runs / (decode_ms / 1000),
        "peak_rss_mb": peak_mb, "wall_ms": wall_ms,
        "reply": run.stdout.strip()[-400:],
    }
    if args.bench_tokens > 0:
        bench = subprocess.run([os.path.join(args.bin, "llama-bench"), "-m", args.model, "-p", "0", "-n", str(args.bench_tokens),
                                "-t", str(args.threads), "-r", "3", "-o", "json"], capture_output=True, text=True, errors="replace")
        if bench.returncode != 0:
            sys.stderr.write(bench.stderr[-4000:])
            sys.exit(f"llamacpp_reference: llama-bench exited with {bench.returncode}")
        entry = json.loads(bench.stdout)[0]
        results["bench_text_decode_tokens_per_second"] = entry["avg_ts"]
        results["bench_text_decode_stddev"] = entry["stddev_ts"]
        results["bench_tokens"] = args.bench_tokens

    print(f"llama.cpp {args.commit} {args.label}: {prompt_tokens}-token prompt, vision {sum(vision) / 1000:.1f} s, "
          f"time to first token {prompt_ms / 1000:.1f} s, decode {results['decode_tokens_per_second']:.2f} tokens/s "
          f"({decode_runs} runs), peak {peak_mb:.0f} MB"
          + (f"; llama-bench text decode {results['bench_text_decode_tokens_per_second']:.2f} tokens/s" if args.bench_tokens > 0 else ""),
          file=sys.stderr)
    text = json.dumps(results, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
