#!/usr/bin/env bash
# The soak: runs the daemon unattended (default one hour at 50 Hz) with a short real plan
# on SmolLM2 every few minutes and a replayed power trace, watches its RSS, open fds and
# threads, and reports their growth, the late ticks and the runs. Rerun it after a change
# to the daemon's loop, the store or the power path.
#
#   scripts/soak.sh [--duration-s 3600] [--rate-hz 50] [--every-s 180] [--watch-s 10]
#                   [--bin target/release/edgewatt] [--out target/soak]
#
# Without --bin it builds the release binary (the one that ships). Output in --out:
# soak.csv (one line per --watch-s: seconds, daemon RSS kB, fds, threads, worker pid,
# 1-minute load average, and the RSS split into anonymous memory and file pages: the heap
# is in the first, the binary's code as it is paged in in the second), daemon.log, the state directory, floor.txt
# (compare/timer_floor.py run beside the daemon: the machine's own late wake-ups), `edgewatt status` of the
# running daemon halfway (status-mid.json) and of the stopped one (status-end.txt), and
# summary.txt (printed at the end).
# Targets (idle machine): RSS growth after warm-up ≤ 1 MB, no fd growth, no late ticks.
# The warm-up is the first quarter of the run, at least 16 min (at most half): the power
# history the daemon keeps for per-run energy (15 min) fills during it.
set -euo pipefail
cd "$(dirname "$0")/.."

duration_s=3600 rate_hz=50 every_s=180 watch_s=10 bin="" out=target/soak
while [ $# -gt 0 ]; do
    case "$1" in
        --duration-s) duration_s=$2; shift 2 ;;
        --rate-hz) rate_hz=$2; shift 2 ;;
        --every-s) every_s=$2; shift 2 ;;
        --watch-s) watch_s=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "soak: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$bin" ]; then
    cargo build --release --locked
    bin=target/release/edgewatt
fi
[ -x "$bin" ] || { echo "soak: $bin is not an executable edgewatt" >&2; exit 2; }
scripts/fetch-model.sh >/dev/null

rm -rf "$out"; mkdir -p "$out/state"
out=$(cd "$out" && pwd)
# A copy: rebuilding during the soak must not pull the binary (and the workers' exe) away.
# The llama.cpp libraries and CPU variants go with it: the binary finds them at $ORIGIN.
built_from=$bin
cp "$bin" "$out/edgewatt"
cp -a "$(dirname "$built_from")"/lib{ggml,llama,mtmd}*.so* "$out/"
bin=$out/edgewatt
model=$PWD/models/SmolLM2-135M-Instruct.Q4_1.gguf

# A short plan: one run of a 32-token prompt and 16 generated tokens, every $every_s s.
cat > "$out/soak-plan.toml" <<TOML
name = "soak"
repetitions = 1
warmup = 0
time_limit_s = 120
[when]
at_start = true
every_s = $every_s
[cooldown]
cpu_margin_pct = 10
cpu_busy_below_pct = 50
temp_below_mc = 90000
max_wait_s = 5
[[workload]]
name = "llm"
model = "$model"
prompt_tokens = [32]
gen_tokens = 16
threads = [2]
TOML

# A 10 Hz power trace longer than the soak: 3 W, 4.5 W for 2 s of every 10 s.
awk -v n=$(( (duration_s + 120) * 10 )) 'BEGIN {
    print "mono_us,bus_uv,current_ua,power_uw";
    for (i = 0; i < n; i++) {
        p = (i % 100 < 20) ? 4500000 : 3000000;
        # %.0f, not %d: some awks clamp %d to 32 bits (2147 s of µs).
        printf "%.0f,5100000,%.0f,%.0f\n", i * 100000, int(p / 5.1), p;
    }
}' > "$out/power.csv"

cat > "$out/edgewatt.toml" <<TOML
state_dir = "$out/state"
plans = ["$out/soak-plan.toml"]
[sampler]
rate_hz = $rate_hz
[power]
source = "replay"
[power.replay]
path = "$out/power.csv"
TOML

"$bin" config check --config "$out/edgewatt.toml" >/dev/null
"$bin" run --config "$out/edgewatt.toml" --duration-s "$duration_s" 2> "$out/daemon.log" &
pid=$!
# The timer floor beside it, at the sampling thread's nice where allowed: the late ticks of
# a loop with nothing to do on this machine under this load.
# (It prints the nice it ran at; nice only warns, into floor.err, where -10 is not allowed.)
nice -n -10 python3 compare/timer_floor.py $(( duration_s * rate_hz )) "$rate_hz" \
    > "$out/floor.txt" 2> "$out/floor.err" &
floor=$!
trap 'kill "$pid" "$floor" 2>/dev/null || true' INT TERM
echo "soak: daemon pid $pid, $duration_s s at $rate_hz Hz, plan every $every_s s; output in $out"

echo "t_s,rss_kb,fds,threads,worker_pid,load1,rss_anon_kb,rss_file_kb" > "$out/soak.csv"
start=$(date +%s)
status_mid=""
while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    worker=$(pgrep -P "$pid" | head -n1 || true)
    load1=$(cut -d' ' -f1 /proc/loadavg)
    split=$(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { print a "," f }' "/proc/$pid/status" 2>/dev/null || true)
    t=$(( $(date +%s) - start ))
    [ -n "$rss" ] && echo "$t,$rss,$fds,$threads,${worker:-},$load1,$split" >> "$out/soak.csv"
    if [ -z "$status_mid" ] && [ "$t" -ge $(( duration_s / 2 )) ]; then
        "$bin" status --config "$out/edgewatt.toml" --format json > "$out/status-mid.json" \
            && status_mid=0 || status_mid=$?
    fi
    sleep "$watch_s"
done
wait "$pid" && status=0 || status=$?
wait "$floor" || true
"$bin" status --config "$out/edgewatt.toml" > "$out/status-end.txt" && status_end=0 || status_end=$?

events=$("$bin" dump --config "$out/edgewatt.toml" --type event --format jsonl --allow-damaged)
runs=$("$bin" dump --config "$out/edgewatt.toml" --type run --format jsonl --allow-damaged)
count() { grep -c "$1" <<< "$2" || true; }
# The warm-up: the first quarter, at least 16 min (the 15 min of power history fills),
# at most half the soak.
warm_s=$(( duration_s / 4 > 960 ? duration_s / 4 : 960 ))
warm_s=$(( warm_s > duration_s / 2 ? duration_s / 2 : warm_s ))
{
    echo "soak: $duration_s s at $rate_hz Hz, plan every $every_s s, binary $built_from, exit status $status"
    awk -F, 'NR > 1 && $6 != "" { n++; s += $6; if (min == "" || $6 < min) min = $6; if ($6 > max) max = $6 }
        END { if (n) printf "machine: '"$(nproc)"' cores, 1-min load average min %.2f, mean %.2f, max %.2f\n", min, s / n, max }' "$out/soak.csv"
    awk -F, -v warm="$warm_s" 'NR == 1 { next }
        { n++; t[n] = $1; rss[n] = $2; fd[n] = $3; th[n] = $4; an[n] = $7; fi[n] = $8
          if (w == 0 && $1 >= warm) w = n
          if ($2 > rmax) rmax = $2; if ($3 > fmax) fmax = $3; if (fmin == "" || $3 < fmin) fmin = $3 }
        END {
          if (n == 0) { print "no samples of the daemon"; exit }
          if (w == 0) w = n
          printf "RSS: %d kB at start, %d kB at %d s (warm), %d kB at the end, max %d kB\n", rss[1], rss[w], t[w], rss[n], rmax
          printf "RSS growth after warm-up: %d kB (target <= 1024 kB); since start: %d kB\n", rss[n] - rss[w], rss[n] - rss[1]
          printf "  of which anonymous (heap): %d kB, file pages (code paged in): %d kB\n", an[n] - an[w], fi[n] - fi[w]
          printf "open fds: %d at start, %d warm, %d at the end (min %d, max %d; the worker'"'"'s pipes come and go)\n", fd[1], fd[w], fd[n], fmin, fmax
          printf "threads: %d at start, %d at the end\n", th[1], th[n]
        }' "$out/soak.csv"
    grep -o 'stopped (.*' "$out/daemon.log" | head -n1 | sed 's/^/daemon: /'
    late=$(grep '"event":"sampler_late"' <<< "$events" || true)
    echo "late ticks: $(count '"event":"sampler_late"' "$events") sampler_late events (a tick more than half a period late), $(grep -o '"missed":[0-9]*' <<< "$late" | awk -F: '{ s += $2 } END { print s + 0 }') ticks missed, latest $(grep -o '"late_us":[0-9]*' <<< "$late" | awk -F: '$2 > m { m = $2 } END { print m / 1000 }') ms late, of $(( duration_s * rate_hz )) ticks"
    cat "$out/floor.txt"
    echo "runs: $(wc -l <<< "$runs" | tr -d ' ') logged, $(count '"ok":true' "$runs") ok"
    echo "power faults: $(count '"event":"power_fault"' "$events"), store errors: $(count '"event":"store_error"' "$events")"
    echo "plan baselines logged: $(count '"event":"plan_baseline"' "$events")"
    echo "log: $(du -sk "$out/state" | cut -f1) kB in $(ls "$out/state" | grep -c ewlog) segments"
    echo "status halfway: exit ${status_mid:-not run}, $(grep -o '"healthy":[a-z]*' "$out/status-mid.json" 2>/dev/null || echo no output), conditions $(grep -o '"conditions":\[[^]]*\]' "$out/status-mid.json" 2>/dev/null | cut -c14-)"
    echo "status after the stop: exit $status_end ($(head -n1 "$out/status-end.txt"))"
} | tee "$out/summary.txt"
