#!/usr/bin/env python3
"""Upload throughput and client CPU per MB: `edgewatt upload` against boto3 copying the
same files, in one run, to the same moto S3 server on loopback.

Run with the test venv's Python (scripts/lib/setup.sh ensure_test_python):
  cargo build --release --no-default-features
  target/pyenv/bin/python compare/bench-upload.py [--edgewatt target/release/edgewatt]

Both clients send the same bytes with the same part size, one request at a time
(edgewatt's way); boto3's default (10 threads) is shown too, and edgewatt with a
bandwidth limit (the rate it achieves against the limit). CPU is the client process's
user+system time (wait4), so moto's own CPU is not counted; loopback throughput is bound
by moto, so the CPU per MB is the figure that carries over to a Pi.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20

BOTO = r"""
import json, os, sys, boto3
from boto3.s3.transfer import TransferConfig
a = json.loads(sys.argv[1])
s3 = boto3.client("s3", endpoint_url=a["endpoint"], region_name="us-east-1",
                  aws_access_key_id=a["key_id"], aws_secret_access_key=a["secret"])
if a["threads"]:
    tc = TransferConfig()
else:
    tc = TransferConfig(use_threads=False, multipart_threshold=a["threshold"],
                        multipart_chunksize=a["part"])
for name in sorted(n for n in os.listdir(a["dir"]) if n.endswith(".ewlog")):
    s3.upload_file(os.path.join(a["dir"], name), a["bucket"], "bench/" + name, Config=tc)
"""


def timed(cmd, env=None):
    """Runs cmd; returns (wall s, client CPU s)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    if status != 0:
        sys.exit(f"{cmd[0]} failed ({status}):\n{err}")
    return wall, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgewatt", default=os.path.join(ROOT, "target/release/edgewatt"))
    ap.add_argument("--small", type=int, default=12, help="4 MiB files (one PUT each)")
    ap.add_argument("--large", type=int, default=2, help="24 MiB files (multipart)")
    ap.add_argument("--limit-kib-s", type=int, default=20480,
                    help="bandwidth_kib_s of the last, limited edgewatt run")
    args = ap.parse_args()
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/upload/s3_server.py")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    hello = json.loads(server.stdout.readline())
    endpoint = f"http://127.0.0.1:{hello['port']}"

    def command(line):
        server.stdin.write(line + "\n")
        server.stdin.flush()
        return json.loads(server.stdout.readline())

    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        sizes = [4 * MIB] * args.small + [24 * MIB] * args.large
        for i, size in enumerate(sizes):
            with open(os.path.join(state, f"{i:020d}.ewlog"), "wb") as f:
                f.write(os.urandom(size))
        total_mb = sum(sizes) / 1e6
        creds = os.path.join(tmp, "creds")
        with open(creds, "w") as f:
            f.write(f"[default]\naws_access_key_id = {hello['key_id']}\n"
                    f"aws_secret_access_key = {hello['secret']}\n")
        os.chmod(creds, 0o600)
        cfg = os.path.join(tmp, "edgewatt.toml")
        with open(cfg, "w") as f:
            f.write(f'state_dir = "{state}"\ndevice_id = "bench"\n[upload]\n'
                    f'endpoint = "{endpoint}"\nbucket = "bench-ew"\nallow_http = true\n'
                    f'credentials_file = "{creds}"\nmultipart_threshold_bytes = {16 * MIB}\n'
                    f'part_size_bytes = {8 * MIB}\n')
        results = {}
        limited = cfg.replace(".toml", "-limited.toml")
        with open(cfg) as f, open(limited, "w") as g:
            g.write(f.read().replace('bucket = "bench-ew"', 'bucket = "bench-ew-limited"')
                    + f"bandwidth_kib_s = {args.limit_kib_s}\n")
        for name, bucket in [("boto3 sequential", "bench-boto"), ("edgewatt upload", "bench-ew"),
                             ("boto3 10 threads", "bench-boto-threads"),
                             ("edgewatt limited", "bench-ew-limited")]:
            command(f"bucket {bucket}")
            if name.startswith("edgewatt"):
                manifest = os.path.join(state, "upload-manifest.json")
                if os.path.exists(manifest):
                    os.remove(manifest)
                env = dict(os.environ, RUST_LOG="warn")
                conf = limited if name == "edgewatt limited" else cfg
                results[name] = timed([args.edgewatt, "upload", "--config", conf], env)
            else:
                a = dict(endpoint=endpoint, key_id=hello["key_id"], secret=hello["secret"],
                         dir=state, bucket=bucket, threads="threads" in name,
                         threshold=16 * MIB, part=8 * MIB)
                results[name] = timed([sys.executable, "-c", BOTO, json.dumps(a)])
            listed = command(f"list {bucket}")["objects"]
            assert len(listed) == len(sizes), f"{name}: {len(listed)} objects"
    server.stdin.close()
    server.wait()
    print(f"{len(sizes)} files, {total_mb:.1f} MB, moto 5.2.5 on loopback")
    print(f"{'client':18} {'MB/s':>7} {'CPU ms/MB':>10}")
    for name, (wall, cpu) in results.items():
        print(f"{name:18} {total_mb / wall:7.1f} {cpu * 1000 / total_mb:10.2f}")
    lim = results["edgewatt limited"]
    print(f"bandwidth_kib_s = {args.limit_kib_s}: {sum(sizes) / lim[0] / 1024:.0f} KiB/s "
          f"achieved ({sum(sizes) / lim[0] / 1024 / args.limit_kib_s:.2f} of the limit)")
    ew, bs = results["edgewatt upload"], results["boto3 sequential"]
    print(f"edgewatt / boto3 sequential: throughput x{bs[0] / ew[0]:.2f}, "
          f"CPU per MB x{ew[1] / bs[1]:.2f}")


if __name__ == "__main__":
    main()
