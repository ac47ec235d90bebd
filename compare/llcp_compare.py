"""Prefill and decode tokens/s: edgewatt (examples/llm_speed: Supervisor -> worker ->
llama.cpp) vs llama-cpp-python, same model, threads, context, batch, prompt tokens and
generated tokens, greedy, interleaved (ABBA) repetitions in one run. Prints each run,
mean +- sd per side and the ratio edgewatt / llama-cpp-python.

Run through compare/bench_vs_llama_cpp_python.sh, which builds the example and the venv.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

import llama_cpp
from llama_cpp import Llama


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--edgewatt-bin", required=True, help="built examples/llm_speed binary")
    ap.add_argument("--corpus", default="data/corpus.txt")
    ap.add_argument("--prompt-tokens", type=int, default=128, help="without BOS")
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument("--n-batch", type=int, default=512)
    ap.add_argument("--reps", type=int, default=8, help="measured runs per side")
    return ap.parse_args()


def prompt_text(llm, corpus_path, n):
    """The corpus cut at n tokens, as text whose tokenization gives back those n tokens."""
    with open(corpus_path, encoding="utf-8") as f:
        corpus = f.read()
    toks = llm.tokenize(corpus.encode(), add_bos=False, special=False)
    while n > 0:
        text = llm.detokenize(toks[:n]).decode("utf-8", errors="strict")
        if llm.tokenize(text.encode(), add_bos=False, special=False) == toks[:n]:
            return text
        n -= 1  # a cut inside a multi-token character or merge: back off one token
    sys.exit("cannot cut the corpus at a token boundary")


def llcp_run(llm, tokens, gen):
    """Times what edgewatt's worker times: prefill = prompt eval up to the first greedy
    token; decode = gen x (eval one token) with the gen-1 samples in between."""
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    tok = llm.sample(temp=0.0)
    t1 = time.perf_counter()
    out = []
    for i in range(gen):
        out.append(tok)
        llm.eval([tok])
        if i + 1 < gen:
            tok = llm.sample(temp=0.0)
    t2 = time.perf_counter()
    return {
        "prompt_tokens": len(tokens),
        "generated_tokens": gen,
        "prefill_tps": len(tokens) / (t1 - t0),
        "decode_tps": gen / (t2 - t1),
        "output": llm.detokenize(out).decode("utf-8", errors="replace"),
    }


def edgewatt_run(proc):
    proc.stdin.write("run\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        sys.exit("edgewatt llm_speed ended early")
    r = json.loads(line)
    if not r["ok"]:
        sys.exit(f"edgewatt run failed: {r['error']}")
    return r


def ms(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def main():
    a = parse_args()
    llm = Llama(
        model_path=a.model,
        n_ctx=a.n_ctx,
        n_batch=a.n_batch,
        n_ubatch=a.n_batch,
        n_threads=a.threads,
        n_threads_batch=a.threads,
        n_gpu_layers=0,
        seed=42,
        verbose=False,
    )
    text = prompt_text(llm, a.corpus, a.prompt_tokens)
    tokens = llm.tokenize(text.encode(), add_bos=True, special=False)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(text)
        prompt_file = f.name
    cmd = [
        a.edgewatt_bin, a.model, "--prompt-file", prompt_file,
        "--threads", str(a.threads), "--n-ctx", str(a.n_ctx),
        "--n-batch", str(a.n_batch), "--gen-tokens", str(a.gen_tokens),
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    # Warm-up (load, page the weights in), one per side, not counted.
    ew = edgewatt_run(proc)
    py = llcp_run(llm, tokens, a.gen_tokens)
    if ew["prompt_tokens"] != len(tokens):
        sys.exit(f"prompt token counts differ: edgewatt {ew['prompt_tokens']}, "
                 f"llama-cpp-python {len(tokens)}")
    same_text = ew["output"] == py["output"]
    runs = {"edgewatt": [], "llama-cpp-python": []}
    for i in range(2 * a.reps):
        side = "edgewatt" if i % 4 in (0, 3) else "llama-cpp-python"  # ABBA
        r = edgewatt_run(proc) if side == "edgewatt" else llcp_run(llm, tokens, a.gen_tokens)
        runs[side].append(r)
        print(f"run {i + 1:2} {side:16}: prefill {r['prefill_tps']:8.1f} t/s, "
              f"decode {r['decode_tps']:6.2f} t/s", flush=True)
    proc.stdin.close()
    proc.wait()
    print(f"model {a.model} · threads {a.threads} · n_ctx {a.n_ctx} · n_batch {a.n_batch} · "
          f"prompt {len(tokens)} tokens (same count both sides) · "
          f"{a.gen_tokens} generated greedily · {a.reps} runs per side, ABBA")
    print(f"greedy output identical on both sides: {same_text}")
    if not same_text:
        print(f"  edgewatt:         {ew['output'][:70]!r}")
        print(f"  llama-cpp-python: {py['output'][:70]!r}")
    res = {}
    for side, rs in runs.items():
        res[side] = (ms([r["prefill_tps"] for r in rs]), ms([r["decode_tps"] for r in rs]))
        (pm, ps), (dm, ds) = res[side]
        print(f"{side:16}: prefill {pm:8.1f} ± {ps:6.1f} t/s   decode {dm:6.2f} ± {ds:5.2f} t/s")
    (ep, _), (ed, _) = res["edgewatt"]
    (lp, _), (ld, _) = res["llama-cpp-python"]
    print(f"ratio edgewatt / llama-cpp-python: prefill {ep / lp:.3f}, decode {ed / ld:.3f} "
          f"(target >= 1.0)")
    print(f"llama-cpp-python {llama_cpp.__version__} vs llama-cpp-sys-2 0.1.161: different "
          f"vendored llama.cpp (ggml versions and build flags printed above)")


if __name__ == "__main__":
    main()
