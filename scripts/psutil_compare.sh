#!/bin/sh
# Installs psutil if needed, builds edgewatt's sample_only example, and compares the
# CPU time of a psutil sampler with edgewatt's, both sampling at once.
# Usage: scripts/psutil_compare.sh [--rate-hz 10] [--seconds 20]
set -eu
cd "$(dirname "$0")/.."
python3 -c 'import psutil' 2>/dev/null || python3 -m pip install --user psutil
exec python3 scripts/psutil_compare.py "$@"
