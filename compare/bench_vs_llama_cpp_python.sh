#!/bin/sh
# Prefill and decode tokens/s of edgewatt's llama path vs llama-cpp-python (the paper's
# runtime) on SmolLM2-135M-Instruct Q4_1: same threads, n_ctx, n_batch, prompt tokens,
# generated tokens, greedy, interleaved runs; prints means, sd and the ratios.
#
# Usage: compare/bench_vs_llama_cpp_python.sh [--threads 1] [--reps 8] [--prompt-tokens 128]
#                                              [--gen-tokens 128] [--n-ctx 2048] [--n-batch 512]
# Env: EDGEWATT_PROFILE=release|dev (cargo profile of the example; llama.cpp is built
#      -O3 Release in both), LLCP_VERSION (llama-cpp-python from PyPI, default in
#      compare/lib/llcp_venv.sh), CMAKE_ARGS (its llama.cpp build; default -DGGML_NATIVE=ON).
# edgewatt's side loads the ggml CPU variant that fits this CPU (printed below); a
# `-C target-cpu=native` build is not possible with per-CPU backends (ggml refuses
# GGML_NATIVE with GGML_BACKEND_DL).
# The first run compiles llama-cpp-python into ~/.cache/edgewatt (minutes).
set -eu
cd "$(dirname "$0")/.."
profile="${EDGEWATT_PROFILE:-release}"
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$model" ] || scripts/fetch-model.sh >&2
py="$(sh compare/lib/llcp_venv.sh)"
if [ "$profile" = dev ]; then flag=""; dir=debug; else flag="--$profile"; dir="$profile"; fi
target=target
cargo build -q $flag --example llm_speed --bin edgewatt
bin="$target/$dir/examples/llm_speed"

# Which llama.cpp each side runs: ggml version and how its CPU backend was built.
sys_dir="$(cargo metadata --format-version 1 | "$py" -c '
import json, os, sys
m = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"] == "llama-cpp-sys-2"))')"
ggml_version() {
    sed -n 's/^set(GGML_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\))/\2/p' "$1" | paste -sd. -
}
backend="$("$target/$dir/edgewatt" sensors --seconds 0 --vcio /nonexistent --vcgencmd /nonexistent \
    --powercap-root /nonexistent 2>/dev/null | sed -n '1s/^llama *present *//p')"
echo "edgewatt: llama-cpp-2 0.1.160 / llama-cpp-sys-2 $(basename "$sys_dir" | sed 's/llama-cpp-sys-2-//'), ggml $(ggml_version "$sys_dir/llama.cpp/ggml/CMakeLists.txt"), ${backend:-CPU backend unknown (edgewatt binary not built)}, example built with profile $profile"
"$py" - <<'PYEOF'
import glob, os, re
import llama_cpp
libs = glob.glob(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml.so.*.*.*"))
v = re.sub(r".*libggml\.so\.", "", libs[0]) if libs else "unknown"
print(f"llama-cpp-python {llama_cpp.__version__}: ggml {v}, CMAKE_ARGS={os.environ.get('CMAKE_ARGS', '-DGGML_NATIVE=ON')}")
PYEOF
exec "$py" compare/llcp_compare.py --model "$model" --edgewatt-bin "$bin" "$@"
