"""Model specs as strings, LiteLLM style: `endpoint/name`.

`ollama/qwen2.5:0.5b`, `openai/gpt-4o-mini`, `anthropic/claude-3-opus-20240229`,
`vllm-gpu/meta-llama/Llama-3.1-8B-Instruct` (only the first `/` splits). The endpoint is a
provider's own (named after it), `llamacpp`, or one declared in SIM_ENDPOINTS; which ones exist
is known only with the settings (simulator.llm.providers.resolve). A bare name starting with
gpt-, o1, o3 or o4 is OpenAI, claude- is Anthropic, any other bare name is Ollama, as in the
original tool.

A model name may hold dots, colons, slashes, `$` and any letters; it is refused when it could be
read as something other than a name by a server: a URL scheme, an empty, `.` or `..` path
segment, a backslash, `?` or `#` (`ollama/../../api/delete` would otherwise reach another route).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.core.safe_text import check_name
from simulator.errors import ValidationError

ENDPOINT = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_BARE_PREFIXES = (("openai", ("gpt-", "o1", "o3", "o4")), ("anthropic", ("claude-",)))
MAX_NAME = 300


@dataclass(frozen=True)
class ModelSpec:
    provider: str  # the endpoint's name
    name: str

    @property
    def endpoint(self) -> str:
        return self.provider

    def __str__(self) -> str:
        return f"{self.provider}/{self.name}"


def parse_spec(text: str) -> ModelSpec:
    spec = check_name((text or "").strip(), f"model spec {text!r}")
    if not spec or any(c.isspace() for c in spec):
        raise ValidationError(f"model spec {text!r}: expected endpoint/name, e.g. ollama/sim-tiny")
    head, sep, rest = spec.partition("/")
    if sep and ENDPOINT.fullmatch(head):
        if not rest:
            raise ValidationError(f"model spec {text!r}: the model name after '{head}/' is empty")
        return ModelSpec(head, check_model_name(rest, text))
    if sep and ENDPOINT.fullmatch(head.lower()):
        raise ValidationError(f"model spec {text!r}: endpoint names are lower case ({head.lower()})")
    provider = next((p for p, prefixes in _BARE_PREFIXES if spec.startswith(prefixes)), "ollama")
    return ModelSpec(provider, check_model_name(spec, text))


def check_model_name(name: str, text: str) -> str:
    where = f"model spec {text!r}"
    if len(name) > MAX_NAME:
        raise ValidationError(f"{where}: a model name has at most {MAX_NAME} characters")
    if "://" in name or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:/", name):
        raise ValidationError(f"{where}: a model name, not a URL (the server's address belongs to the endpoint)")
    if any(c in name for c in "\\?#") or any(part in ("", ".", "..") for part in name.split("/")):
        raise ValidationError(f"{where}: the model name has an empty, '.' or '..' path segment, a backslash, "
                              f"'?' or '#'")
    return name
