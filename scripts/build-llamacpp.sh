#!/usr/bin/env bash
# Build llama.cpp's own `llama-server` (CPU only) from the source that ships inside the PyPI
# sdist llama-cpp-python (vendor/llama.cpp), into the project cache. It is the second local model
# server: it speaks the OpenAI API with log-probabilities and Anthropic's Messages API.
#
# No network beyond PyPI: the prebuilt web UI (fetched from a model hub by default) and OpenSSL
# are off. GGML_NATIVE=ON dies with an illegal instruction on virtual machines whose CPU
# advertises AMX but traps it, so the instruction sets are named explicitly from /proc/cpuinfo
# (AMX always off), as build-ollama.sh does. The cache key holds the version, the flags and the
# CPU's feature flags, so a binary built for another CPU is never reused.
set -euo pipefail
VERSION=0.3.36
SDIST_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/llm-interaction-simulator"
BIN="$CACHE/bin/llama-server"
STAMP="$CACHE/bin/llama-server.version"
PYTHON="${PYTHON:-python3}"

CPU_FLAGS=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || echo unknown)
has() { [[ "${SIM_LLAMACPP_PORTABLE:-0}" != 1 && " $CPU_FLAGS " == *" $1 "* ]] && echo ON || echo OFF; }
FLAGS=(-DGGML_NATIVE=OFF -DGGML_AVX="$(has avx)" -DGGML_AVX2="$(has avx2)" -DGGML_FMA="$(has fma)"
       -DGGML_F16C="$(has f16c)" -DGGML_BMI2="$(has bmi2)" -DGGML_AVX512="$(has avx512f)"
       -DGGML_AVX512_VBMI="$(has avx512_vbmi)" -DGGML_AVX512_VNNI="$(has avx512_vnni)"
       -DGGML_AVX512_BF16="$(has avx512_bf16)" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
KEY="$VERSION $(printf '%s\n%s' "${FLAGS[*]}" "$CPU_FLAGS" | sha256sum | cut -c1-16)"

if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$KEY" ]]; then
  echo "llama-server (llama-cpp-python $VERSION): cached at $BIN"
  exit 0
fi
command -v cmake >/dev/null || { echo "llama-server needs cmake and a C++ compiler (apt-get install cmake g++)" >&2; exit 1; }
WORK="$CACHE/build-llamacpp"
rm -rf "$WORK"
mkdir -p "$WORK" "$CACHE/bin"
start=$(date +%s)
echo "llama-server: fetching the llama-cpp-python $VERSION sdist from PyPI..."
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$WORK"
SDIST="$WORK/llama_cpp_python-$VERSION.tar.gz"
echo "$SDIST_SHA256  $SDIST" | sha256sum --check --quiet \
  || { echo "llama-server: the sdist's sha256 is not the published one; refusing it" >&2; exit 1; }
tar -xzf "$SDIST" -C "$WORK" "llama_cpp_python-$VERSION/vendor/llama.cpp"
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
echo "llama-server: compiling (${FLAGS[*]}); the first build takes about 8 minutes on 2 cores..."
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF "${FLAGS[@]}" > "$WORK/cmake.log" 2>&1 \
  || { tail -20 "$WORK/cmake.log" >&2; echo "llama-server: cmake failed (log: $WORK/cmake.log)" >&2; exit 1; }
cmake --build "$WORK/build" --target llama-server -j "$(nproc)" > "$WORK/build.log" 2>&1 \
  || { grep -m5 -i error "$WORK/build.log" >&2; echo "llama-server: build failed (log: $WORK/build.log)" >&2; exit 1; }
cp "$WORK/build/bin/llama-server" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "$KEY" > "$STAMP"
rm -rf "$WORK"
echo "llama-server: built $BIN in $(( $(date +%s) - start ))s"
