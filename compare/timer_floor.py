"""The timer floor: a bare sleep loop at RATE_HZ counting the wake-ups more than half a period
late (the sampler's `sampler_late` rule). Run beside the daemon at the sampling thread's nice
(scripts/soak.sh does), it says how late a tick is on this machine under this load with no
work at all to do, so the daemon's late ticks can be told from the machine's.

Usage: timer_floor.py TICKS RATE_HZ
"""
import os
import sys
import time


def main():
    ticks, rate_hz = int(sys.argv[1]), float(sys.argv[2])
    period = 1.0 / rate_hz
    t0 = time.monotonic()
    late = []
    for k in range(1, ticks + 1):
        deadline = t0 + k * period
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            time.sleep(deadline - now)
        if now - deadline > period / 2:
            late.append((now - deadline) * 1000)
    worst = max(late, default=0.0)
    print(f"timer floor (a bare sleep loop at nice {os.nice(0)}): {len(late)} wake-ups more "
          f"than half a period late of {ticks}, latest {worst:.1f} ms")


if __name__ == "__main__":
    main()
