#!/usr/bin/env python3
"""Report and plots from edgewatt run records (`edgewatt dump --type run --format jsonl`).

Writes, into OUT_DIR:
  report.md      the token law (prefill and decode time vs prompt tokens, least-squares line
                 and R²) and the resolution-knee table (image tokens and encode ms per
                 input size and clamp), from the measured (ok, non-warm-up) runs;
  token_law.png  prefill ms vs prompt tokens, with the fitted line;
  knee.png       image tokens and encode ms vs input resolution, one line per clamp.

Usage: plot_runs.py RUNS_JSONL OUT_DIR   (needs matplotlib)
"""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fit(xs, ys):
    """Least-squares line y = a + b·x and R²."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys))
    return a, b, (1 - ss_res / ss_tot) if ss_tot else 1.0


def main(runs_path, out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = [json.loads(line) for line in Path(runs_path).read_text().splitlines() if line]
    measured = [r for r in runs if r.get("ok") and not r["label"].endswith("#warmup")]
    llm = [r for r in measured if r.get("image") is None]
    vlm = [r for r in measured if r.get("image") is not None]
    lines = ["# edgewatt demo report", ""]
    lines.append(f"{len(runs)} runs ({len(measured)} measured, warm-ups excluded), "
                 f"{sum(1 for r in runs if not r.get('ok'))} failed.")
    lines.append("")

    if len({r["prompt_tokens"] for r in llm}) >= 2:
        xs = [r["prompt_tokens"] for r in llm]
        pre = [r["prefill_us"] / 1000 for r in llm]
        a, b, r2 = fit(xs, pre)
        lines += ["## Token law (LLM)", "",
                  f"prefill ms = {a:.2f} + {b:.4f} × prompt tokens  (R² = {r2:.3f}, n = {len(xs)})", ""]
        lines += ["| prompt tokens | prefill ms | decode ms | prefill t/s | decode t/s | energy J (net) |",
                  "|---:|---:|---:|---:|---:|---:|"]
        by_n = defaultdict(list)
        for r in llm:
            by_n[r["prompt_tokens"]].append(r)
        for n in sorted(by_n):
            rs = by_n[n]
            net = [r["energy"]["run"]["net_uj"] / 1e6 for r in rs
                   if r.get("energy") and r["energy"]["run"].get("net_uj") is not None]
            lines.append(
                f"| {n} | {statistics.fmean(r['prefill_us'] for r in rs) / 1000:.1f} "
                f"| {statistics.fmean(r['decode_us'] for r in rs) / 1000:.1f} "
                f"| {statistics.fmean(r['prefill_tokens_per_s'] for r in rs):.1f} "
                f"| {statistics.fmean(r['decode_tokens_per_s'] for r in rs):.1f} "
                f"| {statistics.fmean(net):.3f} |" if net else
                f"| {n} | {statistics.fmean(r['prefill_us'] for r in rs) / 1000:.1f} "
                f"| {statistics.fmean(r['decode_us'] for r in rs) / 1000:.1f} "
                f"| {statistics.fmean(r['prefill_tokens_per_s'] for r in rs):.1f} "
                f"| {statistics.fmean(r['decode_tokens_per_s'] for r in rs):.1f} | - |")
        lines.append("")
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter(xs, pre, label="runs")
        lo, hi = min(xs), max(xs)
        ax.plot([lo, hi], [a + b * lo, a + b * hi], "r-", label=f"{b:.3f} ms/token, R²={r2:.3f}")
        ax.set_xlabel("prompt tokens")
        ax.set_ylabel("prefill ms")
        ax.set_title("Token law: prefill time vs prompt tokens")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "token_law.png", dpi=100)

    if vlm:
        cell = defaultdict(list)
        for r in vlm:
            im = r["image"]
            clamp = r["settings"]["image_max_tokens"]
            cell[(clamp, im["width"] * im["height"], f"{im['width']}×{im['height']}")].append(r)
        lines += ["## Resolution knee (VLM, generated qwen2vl projector)", "",
                  "| clamp (max image tokens) | input | image tokens | encode ms | prefill ms |",
                  "|---:|---|---:|---:|---:|"]
        series = defaultdict(list)
        for (clamp, px, name), rs in sorted(cell.items()):
            tok = statistics.fmean(r["image"]["image_tokens"] for r in rs)
            enc = statistics.fmean(r["image"]["encode_us"] for r in rs) / 1000
            pre = statistics.fmean(r["prefill_us"] for r in rs) / 1000
            lines.append(f"| {clamp} | {name} | {tok:.0f} | {enc:.1f} | {pre:.1f} |")
            series[clamp].append((px ** 0.5, tok, enc))
        lines.append("")
        fig, (t_ax, e_ax) = plt.subplots(1, 2, figsize=(10, 4))
        for clamp, pts in sorted(series.items()):
            side = [p[0] for p in pts]
            t_ax.plot(side, [p[1] for p in pts], "o-", label=f"clamp {clamp}")
            e_ax.plot(side, [p[2] for p in pts], "o-", label=f"clamp {clamp}")
        t_ax.set_xlabel("input side, px")
        t_ax.set_ylabel("image tokens")
        e_ax.set_xlabel("input side, px")
        e_ax.set_ylabel("encode ms")
        t_ax.set_title("Image tokens vs input size, per clamp")
        e_ax.set_title("Image encode time vs input size, per clamp")
        t_ax.legend()
        e_ax.legend()
        fig.tight_layout()
        fig.savefig(out / "knee.png", dpi=100)

    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
