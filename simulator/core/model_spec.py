"""Model specs as strings, LiteLLM style: `provider/name`.

`ollama/qwen2.5:0.5b`, `openai/gpt-4o-mini`, `openai/meta-llama/Llama-3-8B` (only the
first `/` splits). A bare name starting with gpt-, o1, o3 or o4 is OpenAI, any other
bare name is Ollama, as in the original tool.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.core.safe_text import check_name
from simulator.errors import ValidationError

PROVIDERS = ("ollama", "openai")
_OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4")


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    name: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.name}"


def parse_spec(text: str) -> ModelSpec:
    spec = check_name((text or "").strip(), f"model spec {text!r}")
    if not spec or any(c.isspace() for c in spec):
        raise ValidationError(f"model spec {text!r}: expected provider/name, e.g. ollama/sim-tiny")
    head, sep, rest = spec.partition("/")
    if sep and head in PROVIDERS:
        if not rest:
            raise ValidationError(f"model spec {text!r}: the model name after '{head}/' is empty")
        return ModelSpec(head, rest)
    if sep and head.lower() in PROVIDERS:
        raise ValidationError(f"model spec {text!r}: provider names are lower case ({head.lower()})")
    provider = "openai" if spec.startswith(_OPENAI_PREFIXES) else "ollama"
    return ModelSpec(provider, spec)
