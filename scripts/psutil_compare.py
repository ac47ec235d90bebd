#!/usr/bin/env python3
"""CPU cost of a psutil sampler against edgewatt's sampler, in one run.

Both sample the same sources at the same rate for the same time, concurrently:
edgewatt's `sample_only` example in a child process, and a psutil loop in this one.
Each side measures the CPU time of its own sampling thread over the loop only
(interpreter and binary start-up excluded), and the ratio psutil / edgewatt is printed.

What each tick reads, on both sides (only the sources this machine has):
  /proc/stat (total + per core), /proc/meminfo (memory + swap), the sampler's own
  /proc/PID/stat and statm (utime/stime, RSS, minor/major faults), thermal zones,
  cpufreq policies, and the Pi firmware's get_throttled.
psutil has no page-fault API on Linux, so its side reads /proc/PID/stat directly for
those two numbers.

Usage: scripts/psutil_compare.py [--rate-hz 10] [--seconds 20] [--bin PATH]
Needs: pip install psutil; builds the example with cargo if --bin is not given.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import time

try:
    import psutil
except ImportError:
    sys.exit("psutil is missing: pip install psutil")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THROTTLED = [
    "/sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled",
    "/sys/devices/platform/soc/soc:firmware/get_throttled",
]


def build_example():
    subprocess.run(
        ["cargo", "build", "--release", "--no-default-features", "--example", "sample_only"],
        cwd=ROOT,
        check=True,
    )
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "examples", "sample_only")


def psutil_loop(rate_hz, seconds):
    """The psutil sampler: absolute deadlines, same sources as edgewatt."""
    me = psutil.Process()
    stat_path = "/proc/%d/stat" % os.getpid()
    has_thermal = bool(glob.glob("/sys/class/thermal/thermal_zone*/temp"))
    has_cpufreq = bool(glob.glob("/sys/devices/system/cpu/cpufreq/policy*/scaling_cur_freq"))
    throttled = next((p for p in THROTTLED if os.path.exists(p)), None)
    interval = 1.0 / rate_hz
    ticks = rate_hz * seconds
    cpu0, proc0, wall0 = time.thread_time(), time.process_time(), time.monotonic()
    for k in range(ticks):
        delay = wall0 + k * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sample = {
            "cpu": psutil.cpu_times(),
            "percpu": psutil.cpu_times(percpu=True),
            "mem": psutil.virtual_memory(),
            "swap": psutil.swap_memory(),
            "proc_cpu": me.cpu_times(),
            "proc_rss": me.memory_info().rss,
        }
        with open(stat_path, "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
            sample["minflt"], sample["majflt"] = int(fields[7]), int(fields[9])
        if has_thermal:
            sample["temps"] = psutil.sensors_temperatures()
        if has_cpufreq:
            sample["freqs"] = psutil.cpu_freq(percpu=True)
        if throttled:
            with open(throttled) as f:
                sample["throttled"] = int(f.read().strip(), 16)
    return {
        "ticks": ticks,
        "loop_thread_cpu_us": int((time.thread_time() - cpu0) * 1e6),
        "loop_process_cpu_us": int((time.process_time() - proc0) * 1e6),
        "wall_us": int((time.monotonic() - wall0) * 1e6),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate-hz", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--bin", help="path of the sample_only example (built if omitted)")
    args = ap.parse_args()
    binary = args.bin or build_example()
    child = subprocess.Popen(
        [binary, "--rate-hz", str(args.rate_hz), "--seconds", str(args.seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    py = psutil_loop(args.rate_hz, args.seconds)
    out, _ = child.communicate()
    if child.returncode != 0:
        sys.exit("sample_only failed with status %d" % child.returncode)
    ew = json.loads(out)
    print("rate %d Hz for %d s, both at once" % (args.rate_hz, args.seconds))
    for name, r in (("edgewatt", ew), ("psutil", py)):
        per_tick = r["loop_thread_cpu_us"] / max(r["ticks"], 1)
        print(
            "%-9s %5d ticks  sampling-thread CPU %8d us  (%6.1f us/tick, %.3f %% of one core)"
            % (name, r["ticks"], r["loop_thread_cpu_us"], per_tick,
               100.0 * r["loop_thread_cpu_us"] / r["wall_us"])
        )
    if ew.get("late") or ew.get("faults"):
        print("edgewatt: %d late ticks, %d missed, %d faults" % (ew["late"], ew["missed"], ew["faults"]))
    ratio = py["loop_thread_cpu_us"] / max(ew["loop_thread_cpu_us"], 1)
    print("CPU-time ratio psutil / edgewatt: %.1f" % ratio)


if __name__ == "__main__":
    main()
