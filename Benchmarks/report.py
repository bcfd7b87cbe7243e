#!/usr/bin/env python3
"""Pools the rounds of scripts/benchmark, prints the summary and updates BENCHMARKS.md.

    python3 Benchmarks/report.py --ours R1.json R2.json ... --reference M1.json M2.json ...
                                 [--machine KEY=VALUE ...] [--write BENCHMARKS.md]

Each JSON file is one round of qwen-agent-bench or Benchmarks/mss_reference.py (with samples).
Statistics are over the pooled samples of all rounds; ratios are ours/reference of pooled medians,
with the ratio of each round's medians next to them (rounds alternate which tool goes first).
Only the text between the RESULTS markers in BENCHMARKS.md is replaced, so notes written by hand
around it survive a re-run.
"""

import argparse
import json
import sys

BEGIN = "<!-- RESULTS:BEGIN (scripts/benchmark rewrites everything up to RESULTS:END) -->"
END = "<!-- RESULTS:END -->"

# (ours, reference, what the pair compares)
PAIRS = [
    ("shm-raw", "mss-raw", "MIT-SHM capture, raw BGRA (ours: no copy; mss: copies into a bytearray)"),
    ("shm-copy", "mss-raw", "MIT-SHM capture into an owned BGRA buffer (like for like)"),
    ("shm-rgb", "mss-raw", "our real API (RGB out) vs mss's raw grab: the issue's goal"),
    ("shm-rgb", "mss-rgb", "capture to RGB, both sides"),
    ("getimage-raw", "mss-getimage", "capture without MIT-SHM (ours: Xlib XGetImage; mss: XCB GetImage)"),
    ("png", "mss-png", "capture to PNG (ours: libpng PNG_IMAGE_FLAG_FAST; mss: zlib level 6)"),
    ("png", "scrot", "capture to PNG vs a whole scrot process"),
]


def percentile(samples, p):
    ordered = sorted(samples)
    rank = p / 100 * (len(ordered) - 1)
    low, high = int(rank // 1), int(-(-rank // 1))
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def load(paths):
    rounds = []
    for path in paths:
        with open(path) as f:
            rounds.append(json.load(f))
    return rounds


def pool(rounds):
    """name -> dict(samples, round_medians, note, order index)."""
    pooled, order = {}, []
    for document in rounds:
        for name in document["order"]:
            entry = document["results"][name]
            if name not in pooled:
                pooled[name] = {"samples": [], "round_medians": [], "note": entry["note"]}
                order.append(name)
            pooled[name]["samples"].extend(entry["samples_ms"])
            pooled[name]["round_medians"].append(entry["median_ms"])
    for name, entry in pooled.items():
        s = entry["samples"]
        entry.update(median=percentile(s, 50), p10=percentile(s, 10), p90=percentile(s, 90))
    return pooled, order


def fmt(ms):
    return f"{ms:.3f}" if ms < 100 else f"{ms:.1f}"


def results_table(pooled, order, source):
    lines = [
        "| benchmark | source | runs | median ms | p10 ms | p90 ms | round medians ms | what |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name in order:
        e = pooled[name]
        rounds = ", ".join(fmt(m) for m in e["round_medians"])
        lines.append(f"| `{name}` | {source} | {len(e['samples'])} | **{fmt(e['median'])}** | {fmt(e['p10'])} | "
                     f"{fmt(e['p90'])} | {rounds} | {e['note']} |")
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ours", nargs="+", required=True)
    parser.add_argument("--reference", nargs="+", required=True)
    parser.add_argument("--machine", nargs="*", default=[], help="KEY=VALUE facts for the report header")
    parser.add_argument("--write")
    args = parser.parse_args()

    ours_rounds, ref_rounds = load(args.ours), load(args.reference)
    ours, ours_order = pool(ours_rounds)
    ref, ref_order = pool(ref_rounds)
    machine = dict(item.split("=", 1) for item in args.machine)

    ratios = []
    for a, b, what in PAIRS:
        if a not in ours or b not in ref:
            continue
        pooled_ratio = ours[a]["median"] / ref[b]["median"]
        per_round = [x / y for x, y in zip(ours[a]["round_medians"], ref[b]["round_medians"])]
        ratios.append((a, b, what, pooled_ratio, per_round))

    # Console summary.
    print()
    print("== summary (pooled over %d rounds; ms) ==" % len(ours_rounds))
    print(f"{'benchmark':<15}{'runs':>6}{'median':>10}{'p10':>10}{'p90':>10}")
    for table, order in ((ours, ours_order), (ref, ref_order)):
        for name in order:
            e = table[name]
            print(f"{name:<15}{len(e['samples']):>6}{e['median']:>10.3f}{e['p10']:>10.3f}{e['p90']:>10.3f}")
    print()
    print("ratios ours/reference (median; < 1 means ours is faster):")
    for a, b, what, r, per_round in ratios:
        rounds = ", ".join(f"{x:.2f}" for x in per_round)
        print(f"  {a:>9} / {b:<8} {r:7.3f}   rounds: {rounds}   {what}")

    goal = None
    if "shm-rgb" in ours and "mss-raw" in ref:
        ours_ms, mss_ms = ours["shm-rgb"]["median"], ref["mss-raw"]["median"]
        raw_ms = ours.get("shm-raw", {}).get("median")
        met = ours_ms <= mss_ms
        goal = (
            f"Goal (capture at or under mss's time, same run): our full-screen MIT-SHM capture to RGB "
            f"(`shm-rgb`) takes a median **{fmt(ours_ms)} ms** against **{fmt(mss_ms)} ms** for mss's raw "
            f"`grab()` (ratio {ours_ms / mss_ms:.2f}): **{'met' if met else 'not met'}**"
        )
        if raw_ms is not None:
            goal += (f"; raw capture (`shm-raw`, {fmt(raw_ms)} ms) is at {raw_ms / mss_ms:.2f}x mss's "
                     f"and RGB capture is at {ours_ms / ref['mss-rgb']['median']:.2f}x mss's `grab().rgb`"
                     if "mss-rgb" in ref else "")
        goal += "."
        print()
        print(goal.replace("**", ""))

    if not args.write:
        return
    facts_ours = ours_rounds[0].get("facts", {})
    facts_ref = ref_rounds[0].get("facts", {})
    block = [BEGIN, "", "## Latest results", ""]
    block += [
        f"- Date: {machine.get('date', '?')}",
        f"- Command: `{machine.get('command', 'scripts/benchmark')}`",
        f"- Machine: {machine.get('nproc', '?')} cores, {machine.get('cpu', '?')}, {machine.get('memory', '?')} RAM, "
        f"{machine.get('os', '?')}, kernel {machine.get('kernel', '?')}",
        f"- Display: Xvfb ({machine.get('xvfb', '?')}) `{machine.get('xvfb_args', '')}`, "
        f"showing {machine.get('screen_content', '?')}",
        f"- Toolchain: {machine.get('swift', '?')}; release build",
        f"- Reference: python {machine.get('python', '?')}, mss {facts_ref.get('mss_version', '?')} "
        f"(backend {facts_ref.get('backend', '?')}, MIT-SHM {facts_ref.get('shm_status', '?')}), "
        f"{machine.get('scrot', 'scrot not installed')}",
        f"- Server pixel layout: {facts_ours.get('shm_layout', '?')}",
        f"- Rounds: {len(ours_rounds)}, alternating which tool runs first; statistics over the pooled samples "
        f"({machine.get('iterations', '?')})",
        "",
    ]
    if goal:
        block += [goal, ""]
    block += ["### Timings", ""]
    block += results_table(ours, ours_order, "qwen-agent-bench")
    block += results_table(ref, ref_order, "reference")[2:]
    block += ["", "### Ratios (ours / reference, medians; below 1 means ours is faster)", "",
              "| ours | reference | ratio | per round | comparison |", "| --- | --- | ---: | --- | --- |"]
    for a, b, what, r, per_round in ratios:
        block.append(f"| `{a}` | `{b}` | **{r:.2f}** | {', '.join(f'{x:.2f}' for x in per_round)} | {what} |")
    block += ["", END]

    try:
        with open(args.write) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + "\n".join(block) + tail
    else:
        text = (text.rstrip() + "\n\n" if text else "# Benchmarks\n\n") + "\n".join(block) + "\n"
    with open(args.write, "w") as f:
        f.write(text)
    print(f"\nwrote {args.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
