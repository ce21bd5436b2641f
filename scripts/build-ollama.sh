#!/usr/bin/env bash
# Build Ollama v0.11.4 (CPU only) from the Go module proxy into the project cache.
# cgo compiles its bundled llama.cpp, so the first build takes several minutes.
#
# Go's default cgo flags (-O2 -g) compile llama.cpp without SIMD: measured here, prompt
# processing on smollm2:135m ran at ~40 tokens/s, against ~300 with -O3 -march=native (4.7x
# on 14 prison calls). Plain -march=native fails to link on CPUs with AMX (undefined
# ggml_backend_amx_buffer_type), hence -mno-amx-*. CPUs without AVX2 get a portable build.
# The cache key holds the version, the flags and the CPU's feature flags, so a binary built
# for another CPU is never reused.
set -euo pipefail
VERSION=v0.11.4
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/llm-interaction-simulator"
BIN="$CACHE/bin/ollama"
STAMP="$CACHE/bin/ollama.version"

CPU_FLAGS=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || echo unknown)
if [[ "${SIM_OLLAMA_PORTABLE:-0}" != 1 && " $CPU_FLAGS " == *" avx2 "* ]]; then
  CFLAGS="-O3 -march=native -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
else
  CFLAGS="-O2"
fi
KEY="$VERSION $(printf '%s\n%s' "$CFLAGS" "$CPU_FLAGS" | sha256sum | cut -c1-16)"

if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$KEY" ]]; then
  echo "ollama $VERSION: cached at $BIN ($CFLAGS)"
  exit 0
fi
mkdir -p "$CACHE/bin" "$CACHE/gobin-ollama"
echo "ollama $VERSION: compiling with cgo, CFLAGS '$CFLAGS' (first build takes 5-15 minutes on 2 cores)..."
start=$(date +%s)
GOBIN="$CACHE/gobin-ollama" CGO_ENABLED=1 CGO_CFLAGS="$CFLAGS" CGO_CXXFLAGS="$CFLAGS" \
  go install -v "github.com/ollama/ollama@$VERSION" 2>&1 \
  | while IFS= read -r line; do
      n=$((${n:-0} + 1))
      case "$line" in
        *error*|*Error*) echo "  $line" ;;
      esac
      if (( n % 20 == 0 )); then echo "  ... $n packages compiled ($(( $(date +%s) - start ))s)"; fi
    done
[[ -x "$CACHE/gobin-ollama/ollama" ]] || { echo "ollama build failed" >&2; exit 1; }
mv "$CACHE/gobin-ollama/ollama" "$BIN"
echo "$KEY" > "$STAMP"
echo "ollama $VERSION: built $BIN in $(( $(date +%s) - start ))s"
