#!/usr/bin/env python3
"""CPU per tick of the whole `edgewatt run` daemon against the floor and a psutil sampler.

For each rate (default 10 and 100 Hz), in one run:
  - `edgewatt run` (release build) samples this machine and logs, with a plan that keeps
    a real `edgewatt worker` decoding (SmolLM2, 1 thread) the whole time: the daemon
    tracks itself and the worker, as it does during every run;
  - the floor, `sampler_floor` (compare/sampler_floor.rs), reads the same files with one
    pread each per tick, kept open, in a process of the same shape (its own pid files and
    the worker's), on the same ticker, and does nothing else;
  - a psutil sampler (this script, as a child) reads the same readings through psutil
    (plus /proc/PID/stat for page faults, which psutil does not offer).
The three run at once, tracking the same worker, so load and CPU frequency hit them alike.
With --decode-pairs N it then measures what the sampler costs inference: decode tokens/s of
one supervised worker with a sampler thread at the rate on vs off, N ABBA pairs
(`decode_slowdown`, compare/decode_slowdown.rs).

CPU time is measured from outside, over a window that starts once all three are running:
each process's CPU clock (clock_gettime on its CLOCK_PROCESS_CPUTIME clock id, which any
process may read), in ns, covering all its threads, including threads that have ended.
For the daemon that is everything it does per tick: the sampling thread, building and
encoding sample blocks, writes and fdatasync every fsync interval, the workload thread.
Ticks in the window are counted from each side's own record of its ticks (the daemon's
from its log, `edgewatt dump`), so a late or missed tick is not counted as done.

With --metrics the daemon also serves its Prometheus endpoint ([metrics] on a free loopback
port), scraped every --scrape-s seconds during the run: run once with and once without to see
what the endpoint adds per tick (its publishing on the sampling thread and its server thread).

Usage: compare/sampler_cost.sh [--rates 10,100] [--seconds 60] [--decode-pairs 30] [--metrics]
Needs psutil, the release binaries and the model; the .sh wrapper provides all three.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import socket
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
THROTTLED = [
    "/sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled",
    "/sys/devices/platform/soc/soc:firmware/get_throttled",
]
TARGET = 1.5


def cpu_ns(pid):
    """Total CPU time of process `pid`, all threads, ns (its CPU-time clock id)."""
    return time.clock_gettime_ns(((~pid) << 3) | 2)


def psutil_child(rate_hz, worker, throttled_interval_ms):
    """The psutil sampler: absolute deadlines, the readings the daemon records."""
    import glob
    import psutil

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    procs = [psutil.Process(), psutil.Process(worker)]
    stat_paths = ["/proc/%d/stat" % p.pid for p in procs]
    has_thermal = bool(glob.glob("/sys/class/thermal/thermal_zone*/temp"))
    has_cpufreq = bool(glob.glob("/sys/devices/system/cpu/cpufreq/policy*/scaling_cur_freq"))
    throttled = next((p for p in THROTTLED if os.path.exists(p)), None)
    throttled_due = 0.0
    interval = 1.0 / rate_hz
    ticks = []
    print("ready", flush=True)
    start = time.monotonic()
    k = 0
    while not stop:
        k += 1
        delay = start + k * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        now = time.monotonic()
        sample = {
            "cpu": psutil.cpu_times(),
            "percpu": psutil.cpu_times(percpu=True),
            "mem": psutil.virtual_memory(),
            "swap": psutil.swap_memory(),
        }
        for p, stat in zip(procs, stat_paths):
            with p.oneshot():
                sample[p.pid] = (p.cpu_times(), p.memory_info().rss)
            with open(stat, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
                sample[stat] = (int(fields[7]), int(fields[9]))
        if has_thermal:
            sample["temps"] = psutil.sensors_temperatures()
        if has_cpufreq:
            sample["freqs"] = psutil.cpu_freq(percpu=True)
        if throttled and now >= throttled_due:
            throttled_due = now + throttled_interval_ms / 1000.0
            with open(throttled) as f:
                sample["throttled"] = int(f.read().strip(), 16)
        ticks.append(int(now * 1e6))
    print(json.dumps({"ticks_mono_us": ticks}), flush=True)


def wait_line(proc, want, what):
    line = proc.stdout.readline().strip()
    if line != want:
        sys.exit("%s did not start: %r (exit status %s)" % (what, line, proc.poll()))


def find_worker(daemon, timeout_s):
    """The daemon's `edgewatt worker` child, once it has spent 1 s of CPU decoding."""
    import psutil

    d = psutil.Process(daemon.pid)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            sys.exit("edgewatt run exited with status %d" % daemon.returncode)
        for c in d.children():
            try:
                if "worker" in c.cmdline() and sum(c.cpu_times()[:2]) >= 1.0:
                    return c.pid
            except psutil.NoSuchProcess:
                pass
        time.sleep(0.2)
    sys.exit("no decoding worker after %d s: see the daemon's log" % timeout_s)


def daemon_ticks(edgewatt, config, t0_us, t1_us):
    """CLOCK_MONOTONIC µs of the ticks the daemon logged in [t0, t1); each must have read
    itself and the worker."""
    out = subprocess.run(
        [edgewatt, "--config", config, "dump", "--format", "jsonl", "--type", "sample"],
        check=True, capture_output=True, text=True,
    ).stdout
    ticks = []
    for line in out.splitlines():
        s = json.loads(line)
        if t0_us <= s["mono_us"] < t1_us:
            roles = sorted(p["role"] for p in s["procs"] if p["counters"] is not None)
            if roles != ["daemon", "worker"]:
                sys.exit("tick %d: tracked %r, not the daemon and the worker" % (s["tick"], roles))
            ticks.append(s["mono_us"])
    return ticks


def in_window(ticks_mono_us, t0_us, t1_us):
    return sum(1 for t in ticks_mono_us if t0_us <= t < t1_us)


def free_port():
    """A loopback port free now (the daemon binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Scraper(threading.Thread):
    """GETs the daemon's /metrics every `every_s` until stopped; counts good answers."""

    def __init__(self, port, every_s):
        super().__init__(daemon=True)
        self.url = "http://127.0.0.1:%d/metrics" % port
        self.every_s = every_s
        self.stop = threading.Event()
        self.ok = 0

    def run(self):
        while not self.stop.wait(self.every_s):
            try:
                with urllib.request.urlopen(self.url, timeout=10) as r:
                    self.ok += r.status == 200 and b"edgewatt_sampler_ticks_total" in r.read()
            except OSError:
                pass


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] + xs[(n - 1) // 2]) / 2


def measure(args, rate_hz, work):
    plan = os.path.join(work, "decode-%d.toml" % rate_hz)
    with open(plan, "w") as f:
        f.write(
            'name = "sampler-cost"\ntime_limit_s = 3600\n[[workload]]\nname = "decode"\n'
            'model = "%s"\nprompt_tokens = [16]\ngen_tokens = %d\nn_ctx = %d\nthreads = [1]\n'
            % (args.model, args.gen_tokens, args.gen_tokens + 64)
        )
    config = os.path.join(work, "edgewatt-%d.toml" % rate_hz)
    with open(config, "w") as f:
        f.write(
            'state_dir = "%s"\nplans = ["%s"]\n[sampler]\nrate_hz = %d\n'
            'throttled_interval_ms = %d\n[power]\nsource = "none"\n'
            % (os.path.join(work, "state-%d" % rate_hz), plan, rate_hz, args.throttled_interval_ms)
        )
        port = free_port() if args.metrics else None
        if port:
            f.write('[metrics]\nenabled = true\nlisten = "127.0.0.1:%d"\n' % port)
    scraper = Scraper(port, args.scrape_s) if port else None
    log = open(os.path.join(work, "daemon-%d.log" % rate_hz), "w")
    daemon = subprocess.Popen([args.edgewatt, "--config", config, "run"], stderr=log)
    children = []
    try:
        worker = find_worker(daemon, 120)
        floor = subprocess.Popen(
            [args.floor, "--rate-hz", str(rate_hz), "--worker", str(worker),
             "--throttled-interval-ms", str(args.throttled_interval_ms)],
            stdout=subprocess.PIPE, text=True,
        )
        children.append(floor)
        py = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--psutil-child", "--rates", str(rate_hz),
             "--worker", str(worker), "--throttled-interval-ms", str(args.throttled_interval_ms)],
            stdout=subprocess.PIPE, text=True,
        )
        children.append(py)
        wait_line(floor, "ready", "sampler_floor")
        wait_line(py, "ready", "the psutil sampler")
        if scraper:
            scraper.start()
        time.sleep(args.settle_s)
        pids = {"daemon": daemon.pid, "floor": floor.pid, "psutil": py.pid}
        # Snapshots at the ends of equal parts of the window: the whole window gives the
        # figures, the parts show how much they move with this machine's load.
        snaps = []
        for i in range(args.parts + 1):
            if i:
                time.sleep(args.seconds / args.parts)
            snaps.append((int(time.monotonic() * 1e6), {k: cpu_ns(p) for k, p in pids.items()}))
        if not os.path.exists("/proc/%d" % worker):
            sys.exit("the worker ended inside the window: raise --gen-tokens")
        for c in children:
            c.send_signal(signal.SIGTERM)
        if scraper:
            scraper.stop.set()
            scraper.join()
        floor_out = json.loads(floor.communicate()[0])
        py_out = json.loads(py.communicate()[0])
    finally:
        for c in children:
            if c.poll() is None:
                c.kill()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait()
        log.close()
    (t0_us, _), (t1_us, _) = snaps[0], snaps[-1]
    tick_times = {
        "daemon": daemon_ticks(args.edgewatt, config, t0_us, t1_us),
        "floor": floor_out["ticks_mono_us"],
        "psutil": py_out["ticks_mono_us"],
    }

    def per_tick(a, b):
        (ta, ca), (tb, cb) = a, b
        return {k: (cb[k] - ca[k]) / 1000.0 / max(in_window(tick_times[k], ta, tb), 1)
                for k in pids}

    us = per_tick(snaps[0], snaps[-1])
    parts = [per_tick(a, b) for a, b in zip(snaps, snaps[1:])]
    return {
        "rate_hz": rate_hz,
        "scrapes": scraper.ok if scraper else None,
        "window_s": (t1_us - t0_us) / 1e6,
        "worker": worker,
        "files": floor_out["files_per_tick"],
        "ticks": {k: in_window(v, t0_us, t1_us) for k, v in tick_times.items()},
        "us_per_tick": us,
        "daemon_over_floor": us["daemon"] / us["floor"],
        "psutil_over_daemon": us["psutil"] / us["daemon"],
        "parts_daemon_over_floor": [p["daemon"] / p["floor"] for p in parts],
        "parts_psutil_over_daemon": [p["psutil"] / p["daemon"] for p in parts],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="10,100", help="comma-separated Hz")
    ap.add_argument("--seconds", type=float, default=60.0, help="window per rate")
    ap.add_argument("--settle-s", type=float, default=3.0, help="wait before each window")
    ap.add_argument("--parts", type=int, default=6, help="equal parts of each window")
    ap.add_argument("--gen-tokens", type=int, default=8000, help="the worker's decode length")
    ap.add_argument("--throttled-interval-ms", type=int, default=1000)
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--edgewatt", default=os.path.join(ROOT, "target", "release", "edgewatt"))
    ap.add_argument(
        "--floor", default=os.path.join(ROOT, "target", "release", "examples", "sampler_floor")
    )
    ap.add_argument("--decode-pairs", type=int, default=0,
                    help="also measure decode t/s with the sampler on vs off, N ABBA pairs a rate")
    ap.add_argument("--decode-threads", type=int, default=os.cpu_count(),
                    help="llama.cpp threads of the decode measurement (default: all cores)")
    ap.add_argument(
        "--decode", default=os.path.join(ROOT, "target", "release", "examples", "decode_slowdown")
    )
    ap.add_argument("--metrics", action="store_true",
                    help="serve the Prometheus endpoint, scraped every --scrape-s")
    ap.add_argument("--scrape-s", type=float, default=15.0)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--psutil-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    if args.psutil_child:
        return psutil_child(rates[0], args.worker, args.throttled_interval_ms)
    needed = [args.edgewatt, args.floor, args.model] + ([args.decode] if args.decode_pairs else [])
    for path in needed:
        if not os.path.exists(path):
            sys.exit("%s is missing: run compare/sampler_cost.sh, which builds and fetches it" % path)
    print("machine: %d cores, load %s" % (os.cpu_count(), open("/proc/loadavg").read().strip()))
    results = []
    with tempfile.TemporaryDirectory(prefix="sampler-cost-") as work:
        for rate in rates:
            r = measure(args, rate, work)
            results.append(r)
            t, u = r["ticks"], r["us_per_tick"]
            print(
                "%3d Hz, %.0f s window, daemon + worker (pid %d, decoding) tracked, %d files a tick"
                % (rate, r["window_s"], r["worker"], r["files"])
            )
            if r["scrapes"] is not None:
                print("  metrics endpoint on: %d good scrapes" % r["scrapes"])
            for k, name in (("floor", "floor (one pread a file)"), ("daemon", "edgewatt run"),
                            ("psutil", "psutil sampler")):
                print("  %-26s %6d ticks %9.1f us CPU/tick" % (name, t[k], u[k]))
            print(
                "  daemon/floor %.2f (target <= %.1f)   psutil/daemon %.1f"
                % (r["daemon_over_floor"], TARGET, r["psutil_over_daemon"])
            )
            for key, name in (("parts_daemon_over_floor", "daemon/floor"),
                              ("parts_psutil_over_daemon", "psutil/daemon")):
                xs = r[key]
                print("  %-14s over %d parts: median %.2f, %.2f-%.2f"
                      % (name, len(xs), median(xs), min(xs), max(xs)))
    for rate in rates if args.decode_pairs else []:
        print("%3d Hz: decode t/s with the sampler on vs off, %d ABBA pairs, %d threads"
              % (rate, args.decode_pairs, args.decode_threads), flush=True)
        subprocess.run(
            [args.decode, args.model, "--threads", str(args.decode_threads),
             "--pairs", str(args.decode_pairs), "--rate-hz", str(rate)],
            check=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    met = all(r["daemon_over_floor"] <= TARGET for r in results)
    print("target daemon/floor <= %.1f at every rate: %s" % (TARGET, "met" if met else "NOT met"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
