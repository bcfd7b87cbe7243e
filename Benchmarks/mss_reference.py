#!/usr/bin/env python3
"""Reference timings for scripts/benchmark: the python `mss` package and `scrot` on the same display.

    python3 Benchmarks/mss_reference.py [--display :5] [--iterations 200] [--png-iterations 50]
                                        [--warmup 10] [--scrot-runs 10] [--json FILE] [--no-samples]

Measures, with the same warm-up, iteration counts and statistics as qwen-agent-bench (median,
p10, p90 in ms; percentiles interpolate linearly between ranks):
  mss-raw   mss.mss().grab(monitor): XShmGetImage (10.x: XCB + memfd) and a copy into a bytearray (BGRA)
  mss-rgb   grab(monitor).rgb: the same plus mss's BGRA-to-RGB conversion
  mss-png   grab + mss.tools.to_png(rgb, size) at its default zlib level (6)
  mss-getimage  grab() through mss's XCB XGetImage backend (no MIT-SHM), mss 10.2 and later
  scrot     one whole `scrot -o FILE` process (start, connect, capture, PNG, exit), if scrot is installed
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import mss
import mss.tools


def percentile(samples, p):
    ordered = sorted(samples)
    rank = p / 100 * (len(ordered) - 1)
    low, high = int(rank // 1), int(-(-rank // 1))
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples, note, keep_samples):
    entry = {
        "runs": len(samples),
        "median_ms": percentile(samples, 50),
        "p10_ms": percentile(samples, 10),
        "p90_ms": percentile(samples, 90),
        "min_ms": min(samples),
        "mean_ms": sum(samples) / len(samples),
        "note": note,
    }
    if keep_samples:
        entry["samples_ms"] = samples
    return entry


def measure(warmup, iterations, body):
    for _ in range(warmup):
        body()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        body()
        samples.append((clock() - start) / 1e6)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--display", default=os.environ.get("DISPLAY"))
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--png-iterations", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--scrot-runs", type=int, default=10, help="0 skips scrot")
    parser.add_argument("--json")
    parser.add_argument("--no-samples", action="store_true")
    args = parser.parse_args()
    if not args.display:
        sys.exit("mss_reference.py: no display: set DISPLAY or pass --display")
    os.environ["DISPLAY"] = args.display
    keep = not args.no_samples

    results, order, facts = {}, [], {"mss_version": mss.__version__}

    def record(name, samples, note):
        results[name] = summary(samples, note, keep)
        order.append(name)
        print(f"  {name}: median {results[name]['median_ms']:.3f} ms ({len(samples)} runs)", file=sys.stderr)

    # mss 10.x spells the constructor mss.MSS; older releases only have mss.mss.
    factory = getattr(mss, "MSS", None) or mss.mss
    with factory(display=args.display) as sct:
        monitor = sct.monitors[1] if len(sct.monitors) > 1 else sct.monitors[0]
        shot = sct.grab(monitor)
        facts["monitor"] = f"{monitor['width']}x{monitor['height']}+{monitor['left']}+{monitor['top']}"
        impl = getattr(sct, "_impl", sct)
        facts["backend"] = type(impl).__name__
        status = getattr(impl, "shm_status", None)
        facts["shm_status"] = getattr(status, "name", str(status))
        facts["performance_status"] = list(getattr(sct, "performance_status", getattr(impl, "performance_status", [])))
        if facts["shm_status"] not in ("AVAILABLE", "None"):
            print(f"mss_reference.py: warning: mss is not using MIT-SHM ({facts})", file=sys.stderr)

        record("mss-raw", measure(args.warmup, args.iterations, lambda: sct.grab(monitor)),
               "grab(): XShmGetImage + copy to bytearray (BGRA)")
        record("mss-rgb", measure(args.warmup, args.iterations, lambda: sct.grab(monitor).rgb),
               "grab().rgb: + BGRA->RGB")

        png_size = [0]

        def png():
            image = sct.grab(monitor)
            data = mss.tools.to_png(image.rgb, image.size)
            png_size[0] = len(data)

        record("mss-png", measure(min(args.warmup, 5), args.png_iterations, png), "grab + tools.to_png (zlib 6)")
        facts["mss_png_bytes"] = png_size[0]
        results["mss-png"]["note"] += f", {png_size[0]} bytes"
        del shot

    # The same grab without MIT-SHM (mss 10.2+ has an XCB XGetImage backend): compares with getimage-raw.
    try:
        plain = factory(display=args.display, backend="xgetimage")
    except TypeError:
        plain = None
    if plain is not None:
        with plain:
            record("mss-getimage", measure(args.warmup, args.iterations, lambda: plain.grab(monitor)),
                   "grab() with backend='xgetimage' (XCB GetImage, no MIT-SHM) + copy")

    scrot = shutil.which("scrot")
    if args.scrot_runs > 0 and scrot:
        with tempfile.TemporaryDirectory(prefix="qwen-bench-scrot-") as directory:
            path = os.path.join(directory, "shot.png")
            command = [scrot, "-o", path]
            run = lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            record("scrot", measure(1, args.scrot_runs, run), "whole `scrot -o FILE` process")
            facts["scrot_png_bytes"] = os.path.getsize(path)
            results["scrot"]["note"] += f", {facts['scrot_png_bytes']} bytes"
    elif args.scrot_runs > 0:
        facts["scrot"] = "not installed"
        print("  scrot: not installed, skipped", file=sys.stderr)

    print(f"mss {mss.__version__} ({facts['backend']}, MIT-SHM {facts['shm_status']}) on {args.display}, "
          f"monitor {facts['monitor']}")
    print(f"{'benchmark':<15}{'runs':>6}{'median':>10}{'p10':>10}{'p90':>10}  (ms)")
    for name in order:
        r = results[name]
        print(f"{name:<15}{r['runs']:>6}{r['median_ms']:>10.3f}{r['p10_ms']:>10.3f}{r['p90_ms']:>10.3f}  {r['note']}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"tool": "mss_reference", "display": args.display, "facts": facts, "results": results,
                       "order": order}, out, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
