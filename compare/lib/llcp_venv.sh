#!/bin/sh
# Creates (once) a venv under ~/.cache/edgewatt with llama-cpp-python built from PyPI's sdist
# and prints the venv's python. llama-cpp-python on PyPI is source-only: the first run compiles
# llama.cpp (several minutes on 2 cores). Override the version with LLCP_VERSION.
set -eu
LLCP_VERSION="${LLCP_VERSION:-0.3.36}"
venv="${EDGEWATT_LLCP_VENV:-$HOME/.cache/edgewatt/llcp-$LLCP_VERSION}"
if ! "$venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON}" \
        "$venv/bin/python" -m pip install --no-cache-dir "llama-cpp-python==$LLCP_VERSION" >&2
fi
echo "$venv/bin/python"
