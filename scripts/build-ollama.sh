#!/usr/bin/env bash
# Build Ollama v0.11.4 (CPU only) from the Go module proxy into the project cache.
# cgo compiles its bundled llama.cpp, so the first build takes several minutes.
set -euo pipefail
VERSION=v0.11.4
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/llm-interaction-simulator"
BIN="$CACHE/bin/ollama"
STAMP="$CACHE/bin/ollama.version"
if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION" ]]; then
  echo "ollama $VERSION: cached at $BIN"
  exit 0
fi
mkdir -p "$CACHE/bin" "$CACHE/gobin-ollama"
echo "ollama $VERSION: compiling with cgo (first build takes 5-15 minutes on 2 cores)..."
start=$(date +%s)
GOBIN="$CACHE/gobin-ollama" CGO_ENABLED=1 go install -v "github.com/ollama/ollama@$VERSION" 2>&1 \
  | while IFS= read -r line; do
      n=$((${n:-0} + 1))
      case "$line" in
        *error*|*Error*) echo "  $line" ;;
      esac
      if (( n % 20 == 0 )); then echo "  ... $n packages compiled ($(( $(date +%s) - start ))s)"; fi
    done
[[ -x "$CACHE/gobin-ollama/ollama" ]] || { echo "ollama build failed" >&2; exit 1; }
mv "$CACHE/gobin-ollama/ollama" "$BIN"
echo "$VERSION" > "$STAMP"
echo "ollama $VERSION: built $BIN in $(( $(date +%s) - start ))s"
