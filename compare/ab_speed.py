"""Prefill and decode tokens/s of two edgewatt builds (their examples/llm_speed: Supervisor
-> worker -> llama.cpp), same model, threads, context, batch, prompt and generated tokens,
greedy, interleaved (ABBA) repetitions in one run. Prints each run, mean +- sd per build,
the CPU backend each ran on, and the ratio B / A.

Run through compare/backend_speed.sh, which builds both sides.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--a", required=True, metavar="NAME=BIN", help="llm_speed binary A")
    ap.add_argument("--b", required=True, metavar="NAME=BIN", help="llm_speed binary B")
    ap.add_argument("--corpus", default="data/corpus.txt")
    ap.add_argument("--prompt-chars", type=int, default=600, help="corpus prefix used as prompt")
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument("--n-batch", type=int, default=512)
    ap.add_argument("--reps", type=int, default=8, help="measured runs per build")
    return ap.parse_args()


def start(binary, a, prompt_file):
    cmd = [
        binary, a.model, "--prompt-file", prompt_file, "--threads", str(a.threads),
        "--n-ctx", str(a.n_ctx), "--n-batch", str(a.n_batch), "--gen-tokens", str(a.gen_tokens),
    ]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def run(name, proc):
    proc.stdin.write("run\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        sys.exit(f"{name}: llm_speed ended early")
    r = json.loads(line)
    if not r["ok"]:
        sys.exit(f"{name}: run failed: {r['error']}")
    return r


def mean_sd(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def main():
    a = parse_args()
    sides = [tuple(s.split("=", 1)) for s in (a.a, a.b)]
    with open(a.corpus, encoding="utf-8") as f:
        text = f.read()[: a.prompt_chars]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(text)
        prompt_file = f.name
    procs = {name: start(binary, a, prompt_file) for name, binary in sides}
    # Warm-up (worker start, load, page the weights in), one per build, not counted.
    warm = {name: run(name, p) for name, p in procs.items()}
    counts = {r["prompt_tokens"] for r in warm.values()}
    if len(counts) != 1:
        sys.exit(f"prompt token counts differ: {counts}")
    outputs = {r["output"] for r in warm.values()}
    runs = {name: [] for name, _ in sides}
    for i in range(2 * a.reps):
        name = sides[0][0] if i % 4 in (0, 3) else sides[1][0]  # ABBA
        r = run(name, procs[name])
        runs[name].append(r)
        print(f"run {i + 1:2} {name:8}: prefill {r['prefill_tps']:8.1f} t/s, "
              f"decode {r['decode_tps']:6.2f} t/s", flush=True)
    for p in procs.values():
        p.stdin.close()
        p.wait()
    print(f"model {a.model} · threads {a.threads} · n_ctx {a.n_ctx} · n_batch {a.n_batch} · "
          f"prompt {counts.pop()} tokens · {a.gen_tokens} generated greedily · "
          f"{a.reps} runs per build, ABBA")
    print(f"greedy output identical in both builds: {len(outputs) == 1}")
    res = {}
    for name, rs in runs.items():
        backend = rs[-1].get("cpu_backend") or "built in (static)"
        res[name] = (mean_sd([r["prefill_tps"] for r in rs]), mean_sd([r["decode_tps"] for r in rs]))
        (pm, ps), (dm, ds) = res[name]
        print(f"{name:8}: prefill {pm:8.1f} ± {ps:6.1f} t/s   decode {dm:6.2f} ± {ds:5.2f} t/s"
              f"   CPU backend: {backend}")
    (ap_, _), (ad, _) = res[sides[0][0]]
    (bp, _), (bd, _) = res[sides[1][0]]
    print(f"ratio {sides[1][0]} / {sides[0][0]}: prefill {bp / ap_:.3f}, decode {bd / ad:.3f}")


if __name__ == "__main__":
    main()
