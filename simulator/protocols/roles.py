"""The role experiment (the prison): agents in roles share a transcript, day after day.

An experiment file defines the roles and their prompts; a run picks how many agents play
each role, how the speaker is chosen, what each sees, the variants and the days. All
agents speak with one LLM setting. At the end of each day the summarizer writes a summary,
and the next day starts from the starting message and the summaries. Replies are cleaned
of other roles' lines (engine/leakage.py).
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Mapping, Sequence

from simulator.core.agents import name_agents
from simulator.core.conversation import Conversation, Prepared
from simulator.core.experiment import Experiment, LLMSetting
from simulator.core.model_spec import parse_spec
from simulator.core.prompts import agent_prompt, check_counts, check_variants, starting_message, summarizer_prompt
from simulator.core.grid import agent_combinations, day_settings, repeat_values
from simulator.core.run_spec import ROLES, RunSpec, StopSettings, llm_document
from simulator.engine.context import VIEWS, Framing, make_view
from simulator.engine.leakage import RoleLeakage
from simulator.engine.loop import Summarizing
from simulator.engine.selection import (METHODS, AlternateRoles, Auto, Manual, ManualChooser, RandomNoRepeat,
                                        RoundRobin, SpeakerSelector)
from simulator.engine.stops import MessageBudget
from simulator.errors import ValidationError
from simulator.llm.types import ChatModel, ChatOptions, chat_options
from simulator.protocols.base import Common, EngineParts, Option, Protocol
from simulator.core.sweep import Axis, BatchPlan

MAX_AGENTS_PER_ROLE = 50


class RoleExperiment(Protocol):
    name = ROLES
    title = "Role experiment"
    command = "run"
    summary = "run one conversation of an experiment (roles such as guards and prisoners), showing turns live"
    needs_experiment = True
    has_days = True
    has_roles = True
    options = (
        Option("agent_counts", "agents per role, e.g. guard=1,prisoner=2", "counts", low=1, high=MAX_AGENTS_PER_ROLE,
               flag="--agents", required=True),
        Option("days", "days the messages are split over", "int", default=1, low=1, high=100_000),
        Option("speaker_selection", "how the next speaker is chosen", "choice", default="round_robin",
               choices=METHODS, flag="--speaker"),
        Option("view", "what each speaker sees", "choice", default="shared", choices=VIEWS),
        Option("last_k", "messages seen with --view last_k", "int", default=10, low=1, high=10_000),
        Option("variants", "variant choices, e.g. goal=yard_time", "pairs", default={}, flag="--variant"),
    )

    inputs = (
        Option("llm", "model spec, or 1-based index of the experiment's LLM settings (default the first)", "text"),
        Option("messages", "total messages", "int", low=1, high=100_000, required=True),
    )

    def plan(self, values: Mapping[str, Any], common: Common, experiment: Experiment | None = None) -> BatchPlan:
        if experiment is None:
            raise ValidationError("a role experiment needs its experiment")
        spec = role_spec(llm=choose_llm(experiment, values.get("llm")), agent_counts=values.get("agent_counts"),
                         n_messages=self.inputs[1].check(values.get("messages")),
                         **{o.name: o.check(values.get(o.name)) for o in self.options if o.name != "agent_counts"})
        spec = dataclasses.replace(spec, seed=common.seed, stops=common.stops)
        axes = (Axis("repeat", repeat_values(common.repeats)),) if common.repeats != 1 else ()
        return BatchPlan(base=spec, axes=axes, token_budget=common.token_budget)

    def check(self, spec: RunSpec, experiment: Experiment | None = None) -> RunSpec:
        spec = super().check(spec)
        if experiment is None:
            raise ValidationError("a role experiment needs its experiment")
        if len(spec.llms) != 1:
            raise ValidationError(f"a role experiment speaks with one LLM setting, got {len(spec.llms)}")
        days = spec.option("days")
        if not 1 <= days <= spec.n_messages:
            raise ValidationError(f"days must be 1 to the number of messages ({spec.n_messages}), got {days}")
        return spec.with_options(agent_counts=check_counts(experiment, spec.option("agent_counts")),
                                 variants=check_variants(experiment, spec.option("variants") or {}))

    def prepare(self, spec: RunSpec, experiment: Experiment | None, rng: random.Random) -> Prepared:
        assert experiment is not None  # check() refused it otherwise
        counts, variants = spec.option("agent_counts"), spec.option("variants")
        agents = tuple(name_agents(counts, rng))
        return Prepared(title=experiment.name, agents=agents,
                        prompts={a.name: agent_prompt(experiment, a, counts, variants) for a in agents},
                        starting_message=starting_message(experiment, counts, variants),
                        summarizer_prompt=summarizer_prompt(experiment, counts, variants),
                        max_paragraphs=experiment.max_paragraphs)

    def engine(self, conversation: Conversation, models: Sequence[ChatModel],
               chooser: ManualChooser | None = None) -> EngineParts:
        spec, prepared = conversation.spec, conversation.prepared
        framing = Framing(system_prompts=prepared.prompts, starting_message=prepared.starting_message)
        return EngineParts(
            selector=self.selector(spec.option("speaker_selection"), spec.seed, models[0],
                                   chat_options(spec.llms[0]), chooser),
            view=make_view(spec.option("view"), framing, spec.option("last_k", 10)),
            stop=MessageBudget(spec.n_messages), cleaner=RoleLeakage(prepared.max_paragraphs),
            summarizing=Summarizing(prepared.summarizer_prompt), days=spec.option("days", 1))

    @staticmethod
    def selector(method: str, seed: int, model: ChatModel, options: ChatOptions,
                 chooser: ManualChooser | None) -> SpeakerSelector:
        if method == "round_robin":
            return RoundRobin()
        if method == "random":
            return RandomNoRepeat(seed)
        if method == "alternate_roles":
            return AlternateRoles()
        if method == "auto":
            return Auto(model, options)
        if chooser is None:
            raise ValidationError("manual speaker selection needs a terminal to choose in",
                                  "use another --speaker method")
        return Manual(chooser)

    def estimated_calls(self, spec: RunSpec) -> int:
        return spec.n_messages + spec.option("days", 1)


def choose_llm(experiment: Experiment, choice: str | None) -> LLMSetting:
    """The experiment's LLM setting for a spec (or 1-based index); a new spec gets defaults."""
    llms = experiment.llms
    if not choice:
        return llms[0]
    if choice.isdigit():
        if not 1 <= int(choice) <= len(llms):
            raise ValidationError(f"--llm {choice}: this experiment has LLM settings 1 to {len(llms)}")
        return llms[int(choice) - 1]
    model = str(parse_spec(choice))
    return next((l for l in llms if l.model == model), LLMSetting(model=model))


def role_spec(*, llm: LLMSetting, agent_counts: Mapping[str, int] | None, n_messages: int, days: int = 1,
              speaker_selection: str = "round_robin", view: str = "shared", last_k: int = 10,
              seed: int | None = None, variants: Mapping[str, str] | None = None, stop_keyword: str | None = None,
              detect_cycles: bool = False, token_budget: int | None = None, cost_budget: float | None = None,
              experiment_id: Any = None, batch_id: Any = None) -> RunSpec:
    """A role experiment's RunSpec from the words a researcher uses."""
    return RunSpec(protocol=ROLES, llms=(llm,), n_messages=n_messages, seed=seed,
                   options={"agent_counts": None if agent_counts is None else dict(agent_counts), "days": days,
                            "speaker_selection": speaker_selection, "view": view, "last_k": last_k,
                            "variants": dict(variants or {})},
                   stops=StopSettings(keyword=stop_keyword, detect_cycles=detect_cycles, token_budget=token_budget,
                                      cost_budget=cost_budget),
                   experiment_id=experiment_id, batch_id=batch_id)


def role_batch(*, llms: Sequence[LLMSetting], max_agents: Mapping[str, int], n_messages: int, days: int = 1,
               every_day_count: bool = False, every_combination: bool = False, repeats: int = 1,
               speaker_selection: str = "round_robin", view: str = "shared", last_k: int = 10,
               variants: Mapping[str, str] | None = None, seed: int | None = None,
               stops: StopSettings = StopSettings(), token_budget: int | None = None) -> BatchPlan:
    """A role experiment's sweep: repeats x LLM settings x day settings x agent-count combinations."""
    if not llms:
        raise ValidationError("a batch needs at least one LLM setting")
    llms = tuple(llms)
    base = dataclasses.replace(
        role_spec(llm=llms[0], agent_counts=max_agents, n_messages=n_messages, days=days,
                  speaker_selection=speaker_selection, view=view, last_k=last_k, seed=seed, variants=variants),
        stops=stops)
    axes = (Axis("repeat", repeat_values(repeats)),
            Axis("llm", tuple(range(len(llms))), lambda spec, i: dataclasses.replace(spec, llms=(llms[i],))),
            Axis.option("days", tuple(day_settings(days, every_day_count))),
            Axis.option("agent_counts", tuple(agent_combinations(max_agents, every_combination))))
    description = {"llms": [llm_document(l) for l in llms], "max_agents": dict(max_agents),
                   "every_combination": every_combination, "n_messages": n_messages, "days": days,
                   "every_day_count": every_day_count, "repeats": repeats, "speaker_selection": speaker_selection,
                   "view": view, "variants": dict(variants or {})}
    return BatchPlan(base=base, axes=axes, token_budget=token_budget, description=description)
