"""Prompt assembly: what each agent and the summarizer are told, for given agent counts.

An agent's system prompt is its role's prompt, then one `## Title` block per section
title in the experiment's order: shared sections with their common content, private
ones with this role's content. The summarizer's is its prompt and its own sections.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from simulator.core.agents import Agent
from simulator.core.experiment import Experiment
from simulator.core.templates import TemplateProblem, Vocabulary, check_template, render
from simulator.core.wording import Total, role_wordings
from simulator.errors import ValidationError


def check_counts(experiment: Experiment, counts: Mapping[str, int]) -> dict[str, int]:
    """Counts for exactly the experiment's roles, each at least 1, in role order."""
    unknown = sorted(set(counts) - set(experiment.role_names))
    if unknown:
        raise ValidationError(f"agent counts name unknown roles: {', '.join(unknown)} "
                              f"(roles: {', '.join(experiment.role_names)})")
    missing = [r for r in experiment.role_names if r not in counts]
    if missing:
        raise ValidationError(f"agent counts miss roles: {', '.join(missing)}", "e.g. --agents guard=1,prisoner=2")
    bad = [f"{r}={n}" for r, n in counts.items() if not isinstance(n, int) or n < 1 or n > 50]
    if bad:
        raise ValidationError(f"agent counts must be 1 to 50 per role: {', '.join(bad)}")
    return {r: counts[r] for r in experiment.role_names}


def check_variants(experiment: Experiment, chosen: Mapping[str, str]) -> dict[str, str]:
    """The experiment's defaults overridden by valid choices."""
    values = experiment.default_variants()
    for name, choice in chosen.items():
        if name not in experiment.variants:
            raise ValidationError(f"unknown variant {name!r} (this experiment has: "
                                  f"{', '.join(experiment.variants) or 'none'})")
        if choice not in experiment.variants[name]:
            raise ValidationError(f"variant {name} has no choice {choice!r} "
                                  f"(choices: {', '.join(experiment.variants[name])})")
        values[name] = choice
    return values


class _Variants:
    """`{{ variant.goal }}` with attribute access, for the sandbox."""

    def __init__(self, values: Mapping[str, str]):
        self.__dict__.update(values)


def template_context(counts: Mapping[str, int], variants: Mapping[str, str],
                     agent: Agent | None = None) -> dict[str, Any]:
    wordings = role_wordings(counts)
    context: dict[str, Any] = dict(wordings)
    context["agents"] = Total(sum(counts.values()))
    context["roles"] = Total(len(counts))
    context["variant"] = _Variants(variants)
    if agent is not None:
        context["agent"] = agent
        context["role"] = wordings[agent.role]
    return context


@lru_cache(maxsize=2048)
def _checked(text: str, roles: tuple[str, ...], variants: tuple[tuple[str, tuple[str, ...]], ...],
             with_agent: bool) -> str:
    return check_template(text, Vocabulary(roles, dict(variants), with_agent=with_agent))


def _render(experiment: Experiment, path: str, text: str, context: Mapping[str, Any], with_agent: bool) -> str:
    try:
        source = _checked(text, experiment.role_names, tuple(experiment.variants.items()), with_agent)
        return render(source, context).strip()
    except TemplateProblem as exc:
        raise ValidationError(f"{path}: {exc}") from None


def agent_prompt(experiment: Experiment, agent: Agent, counts: Mapping[str, int],
                 variants: Mapping[str, str]) -> str:
    context = template_context(counts, variants, agent)
    index = experiment.role_names.index(agent.role)
    role = experiment.roles[index]
    parts = [_render(experiment, f"roles[{index}].prompt", role.prompt, context, True)]
    for i, title in enumerate(experiment.sections):
        if title.shared:
            body = _render(experiment, f"sections[{i}].content", title.content, context, True)
        else:
            j = next(k for k, s in enumerate(role.sections) if s.title == title.title)
            body = _render(experiment, f"roles[{index}].sections[{j}].content", role.sections[j].content, context,
                           True)
        parts.append(f"## {title.title}\n{body}")
    return "\n\n".join(parts)


def summarizer_prompt(experiment: Experiment, counts: Mapping[str, int], variants: Mapping[str, str]) -> str:
    context = template_context(counts, variants)
    parts = [_render(experiment, "summarizer.prompt", experiment.summarizer.prompt, context, False)]
    for j, section in enumerate(experiment.summarizer.sections):
        body = _render(experiment, f"summarizer.sections[{j}].content", section.content, context, False)
        parts.append(f"## {section.title}\n{body}")
    return "\n\n".join(parts)


def starting_message(experiment: Experiment, counts: Mapping[str, int], variants: Mapping[str, str]) -> str:
    return _render(experiment, "starting_message", experiment.starting_message, template_context(counts, variants),
                   False)
