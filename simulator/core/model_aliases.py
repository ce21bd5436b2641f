"""Short model names the studies used, with what each study attached to them.

The backrooms study ran `--lm opus sonnet gpt4o o1-preview o1-mini`: each short name stood for a
dated model, a display name and company for its templates' {lmN_actor} ({display} N) and
{lmN_company}, temperature 1.0 and its token limit (1024; the o1 models 8192, sent as
max_completion_tokens). A researcher points an alias elsewhere with SIM_MODEL_ALIASES (say,
`opus=llamacpp/smollm2:135m` to rehearse a run offline); the study's names and limits stay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from simulator.core.model_spec import parse_spec


@dataclass(frozen=True)
class ModelAlias:
    name: str
    spec: str
    display: str
    company: str
    max_tokens: int
    temperature: float = 1.0


STUDY_ALIASES = {alias.name: alias for alias in (
    ModelAlias("opus", "anthropic/claude-3-opus-20240229", "Claude", "anthropic", 1024),
    ModelAlias("sonnet", "anthropic/claude-3-5-sonnet-20240620", "Claude", "anthropic", 1024),
    ModelAlias("gpt4o", "openai/gpt-4o-2024-08-06", "GPT4o", "openai", 1024),
    ModelAlias("o1-preview", "openai/o1-preview", "O1", "openai", 8192),
    ModelAlias("o1-mini", "openai/o1-mini", "Mini", "openai", 8192),
)}


def find_alias(word: str, overrides: Mapping[str, str] | None = None) -> ModelAlias | None:
    """The alias `word` names, with its target from `overrides` (the settings) when one is set there;
    an override of a word that is no study alias is an alias of its own, with no display name."""
    overrides = overrides or {}
    alias = STUDY_ALIASES.get(word)
    if word in overrides:
        target = str(parse_spec(overrides[word]))
        return replace(alias, spec=target) if alias else ModelAlias(word, target, "", "", 0)
    return alias
