#!/usr/bin/env bash
# Build FerretDB v1.24.2 from the Go module proxy into the project cache.
# Plain `go install` builds a binary that panics at start: the module zip lacks
# build/version/version.txt, so we copy the module and write that file ourselves.
set -euo pipefail
VERSION=v1.24.2
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/llm-interaction-simulator"
BIN="$CACHE/bin/ferretdb"
STAMP="$CACHE/bin/ferretdb.version"
if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION" ]]; then
  echo "ferretdb $VERSION: cached at $BIN"
  exit 0
fi
mkdir -p "$CACHE/bin" "$CACHE/src"
echo "ferretdb $VERSION: downloading module (first build takes a few minutes)..."
DIR=$(go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
SRC="$CACHE/src/ferretdb-$VERSION"
rm -rf "$SRC"
cp -r "$DIR" "$SRC"
chmod -R u+w "$SRC"
mkdir -p "$SRC/build/version"
echo "$VERSION" > "$SRC/build/version/version.txt"
echo "ferretdb $VERSION: compiling..."
(cd "$SRC" && CGO_ENABLED=0 go build -v -o "$BIN.tmp" ./cmd/ferretdb 2>&1 | awk '{n++; if (n % 25 == 0) printf "  ... %d packages compiled\n", n; fflush()}')
mv "$BIN.tmp" "$BIN"
echo "$VERSION" > "$STAMP"
echo "ferretdb $VERSION: built $BIN"
