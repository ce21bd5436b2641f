"""The backrooms: models left alone in an open-ended role-play (often one plays a terminal).

A template is a JSON Lines file, one line per participant:
    {"system_prompt": "...", "context": [{"role": "user"|"assistant", "content": "..."}]}
where {lm1_actor}, {lm2_actor}, {lm1_company}, ... are replaced by each participant's display
name and company. That is the format researchers already share, so any such file works
(`--template-file`); `--template NAME` picks one shipped in prompts/backrooms/.

Each round every participant replies in order, seeing its own turns as assistant and
everyone else's as user, after its template context. The run stops when a reply contains
^C^C or after `max_turns` rounds. Messages carry their round, so a run killed mid-round
resumes with the right participant. Each run also writes a plain log,
logs/backrooms/{model1}_{model2}_{template}_{YYYYmmdd_HHMMSS}.txt, with a `### Name ###`
line before each message, which tools that read such logs understand.
"""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from simulator.core.agents import Agent
from simulator.core.conversation import Conversation, Prepared
from simulator.core.experiment import Experiment
from simulator.core.experiment_file import load_data
from simulator.core.grid import repeat_values
from simulator.core.model_aliases import ModelAlias, find_alias
from simulator.core.named import from_pairs, to_pairs
from simulator.core.run_spec import RunSpec
from simulator.core.sweep import Axis, BatchPlan
from simulator.engine.context import _append
from simulator.engine.leakage import Verbatim
from simulator.engine.loop import Observer
from simulator.engine.selection import ManualChooser, RoundRobin
from simulator.engine.state import ConversationState, Turn
from simulator.engine.stops import Keyword, MessageBudget
from simulator.errors import ValidationError
from simulator.files import read_text
from simulator.prompts import shipped
from simulator.llm.types import ChatMessage, ChatModel
from simulator.logs import log_dir
from simulator.protocols.base import MAX_TOKENS, TEMPERATURE, Common, EngineParts, Option, Protocol, room_llms

TEMPLATES = shipped("backrooms")
STOP = "^C^C"
PLACEHOLDER = re.compile(r"\{lm([0-9]+)_(\w+)\}")
FIELDS = ("actor", "company")
MAX_TEMPLATE_BYTES = 1_000_000

# Display name and maker by model family, for {lmN_actor} and {lmN_company}.
FAMILIES = (("smollm", "SmolLM2", "Hugging Face"), ("sim-tiny", "Sim-Tiny", "the LLM Interaction Simulator"),
            ("gpt", "GPT", "OpenAI"), ("o1", "o1", "OpenAI"), ("o3", "o3", "OpenAI"), ("o4", "o4", "OpenAI"),
            ("claude", "Claude", "Anthropic"), ("llama", "Llama", "Meta"), ("qwen", "Qwen", "Alibaba"),
            ("mistral", "Mistral", "Mistral AI"), ("mixtral", "Mixtral", "Mistral AI"), ("gemma", "Gemma", "Google"),
            ("phi", "Phi", "Microsoft"), ("deepseek", "DeepSeek", "DeepSeek"), ("hermes", "Hermes", "Nous Research"))


def identity(model: str) -> tuple[str, str]:
    """(display name, company) of a model spec; unknown models are named after themselves."""
    name = model.split("/", 1)[-1]
    for prefix, display, company in FAMILIES:
        if name.lower().startswith(prefix):
            return display, company
    return name, model.split("/", 1)[0].capitalize()


def _actor(alias: ModelAlias | None) -> dict[str, str] | None:
    return {"display": alias.display, "company": alias.company} if alias and alias.display else None


def participant_names(spec: RunSpec) -> tuple[list[str], list[str]]:
    """({lmN_actor}, {lmN_company}) of each participant. When every model came as a study alias, its
    names as the study wrote them: display name and position (Claude 1, Claude 2); otherwise each
    model's family name, numbered only where two share one."""
    actors = list(spec.option("actors") or [None] * len(spec.llms))
    if actors and all(actors):
        return [f"{a['display']} {i + 1}" for i, a in enumerate(actors)], [a["company"] for a in actors]
    identities = [(a["display"], a["company"]) if a else identity(l.model) for a, l in zip(actors, spec.llms)]
    displays = [d for d, _ in identities]
    names = [f"{d} {displays[:i + 1].count(d)}" if displays.count(d) > 1 else d for i, d in enumerate(displays)]
    return names, [c for _, c in identities]


def parse_template(text: str, source: str) -> list[dict[str, Any]]:
    """Participants of a template, each {"system_prompt", "context"}; one clear error naming the line."""
    participants = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source} line {number}"
        participants.append(_participant(load_data(line, where, is_json=True), where))  # duplicate keys refused
    if not participants:
        raise ValidationError(f"{source}: no participants (one JSON object per line)")
    return participants


def _participant(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValidationError(f"{where}: expected an object with system_prompt and context")
    missing = sorted({"system_prompt", "context"} - set(item))
    unknown = sorted(set(item) - {"system_prompt", "context"})
    if missing or unknown:
        raise ValidationError(f"{where}: " + "; ".join(filter(None, [
            f"missing {', '.join(missing)}" if missing else "", f"unknown {', '.join(unknown)}" if unknown else ""])))
    if not isinstance(item["system_prompt"], str):
        raise ValidationError(f"{where}: system_prompt must be text")
    context = item["context"]
    if not isinstance(context, list) or not all(
            isinstance(m, dict) and set(m) == {"role", "content"} and m["role"] in ("user", "assistant")
            and isinstance(m["content"], str) for m in context):
        raise ValidationError(f"{where}: context must be a list of {{\"role\": \"user\"|\"assistant\", "
                              f"\"content\": \"...\"}}")
    for text in (item["system_prompt"], *(m["content"] for m in context)):
        for match in PLACEHOLDER.finditer(text):
            if match.group(2) not in FIELDS:
                raise ValidationError(f"{where}: unknown placeholder {match.group(0)} "
                                      f"(known: {{lmN_actor}}, {{lmN_company}})")
    return {"system_prompt": item["system_prompt"], "context": [dict(m) for m in context]}


def shipped_templates() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.jsonl"))


def read_template(name: str | None, path: str | None) -> tuple[str, list[dict[str, Any]]]:
    """(template name, participants) from a shipped name or a file."""
    if path:
        file = Path(path).expanduser()
        return file.stem, parse_template(read_text(file, MAX_TEMPLATE_BYTES, f"--template-file {path}"), file.name)
    if not name:
        raise ValidationError("give --template NAME or --template-file PATH",
                              f"shipped: {', '.join(shipped_templates())}")
    if name not in shipped_templates():
        raise ValidationError(f"--template {name}: no such template (shipped: {', '.join(shipped_templates())})")
    file = TEMPLATES / f"{name}.jsonl"
    return name, parse_template(file.read_text(encoding="utf-8"), file.name)


def fill(text: str, names: Sequence[str], companies: Sequence[str], where: str) -> str:
    def replace(match: re.Match) -> str:
        number = int(match.group(1)) if len(match.group(1)) <= 6 else 0  # ASCII digits; never 10,000 of them
        if not 1 <= number <= len(names):
            shown = match.group(0) if len(match.group(0)) <= 40 else match.group(0)[:30] + "...}"
            raise ValidationError(f"{where}: {shown} but the run has {len(names)} participants")
        return (names if match.group(2) == "actor" else companies)[number - 1]

    return PLACEHOLDER.sub(replace, text)


class BackroomsView:
    """System prompt and template context, then the run: own turns as assistant, everyone else's as user."""

    name = "backrooms"

    def __init__(self, prompts: Mapping[str, str], contexts: Mapping[str, list[ChatMessage]]):
        self.prompts, self.contexts = prompts, contexts

    def view_for(self, agent: Agent, state: ConversationState, day: int) -> list[ChatMessage]:
        messages: list[ChatMessage] = [{"role": "system", "content": self.prompts[agent.name]}]
        for message in self.contexts.get(agent.name, []):
            _append(messages, message["role"], message["content"])
        for turn in state.turns:
            _append(messages, "assistant" if turn.speaker == agent.name else "user", turn.content)
        return messages


class BackroomsLog:
    """The plain log: rewritten from what is stored when a run starts, then one entry per message."""

    def __init__(self, path: Path, stored: Sequence[Turn]):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(self.entry(t) for t in stored), encoding="utf-8")

    @staticmethod
    def entry(turn: Turn) -> str:
        return f"\n### {turn.speaker} ###\n{turn.content}\n"

    def on_turn(self, turn: Turn, note: str | None) -> None:
        with self.path.open("a", encoding="utf-8", errors="backslashreplace") as log:  # a lone surrogate too
            log.write(self.entry(turn))

    def on_summary(self, day: int, content: str) -> None:
        pass


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "model"


def log_path(conversation: Conversation) -> Path:
    """logs/backrooms/{models}_{template}_{YYYYmmdd_HHMMSS}.txt, claimed for this conversation.

    Conversations created in the same second (a batch's cells) would share that name, so the
    first to start claims it, atomically, with a marker file holding its id, and the others
    take `_2`, `_3`, ...; a resumed run finds its own file through the same markers.
    """
    folder = log_dir() / "backrooms"
    models = "_".join(_safe(l.model.split("/", 1)[-1]) for l in conversation.spec.llms)
    stamp = conversation.created_at.strftime("%Y%m%d_%H%M%S") if conversation.created_at else "unknown"
    stem = f"{models}_{_safe(conversation.spec.option('template'))}_{stamp}"
    owners = folder / ".owners"
    owners.mkdir(parents=True, exist_ok=True)
    for number in range(1, 10_000):
        name = f"{stem}.txt" if number == 1 else f"{stem}_{number}.txt"
        marker = owners / name
        try:
            with marker.open("x") as claim:
                claim.write(str(conversation.id))
            return folder / name
        except FileExistsError:
            if marker.read_text().strip() == str(conversation.id):
                return folder / name
    raise ValidationError(f"no free backrooms log name for {stem} in {folder}")


class Backrooms(Protocol):
    name = "backrooms"
    title = "Backrooms"
    command = "backrooms"
    summary = "models alone in an open-ended role-play from a template (stops at ^C^C or after --max-turns)"
    inputs = (
        Option("lm", "the participants' model specs, one per template line; repeat the flag for a sweep",
               "texts", flag="--lm", required=True, repeatable=True),
        Option("templates", "a shipped template (see --list-templates); repeat the flag for a sweep", "text",
               flag="--template", repeatable=True),
        Option("template_file", "a JSON Lines template file of your own", "text"),
        Option("max_turns", "rounds at most (every participant speaks once per round)", "int", default=10,
               low=1, high=10_000),
        TEMPERATURE, MAX_TOKENS,
    )
    options = (
        Option("template", "the template's name", "text", asked=False),
        Option("script", "the template's participants (filled in from the file)", "data", asked=False),
        Option("actors", "each participant's study display name and company, when its model came as a study "
                         "alias (opus)", "data", asked=False),
    )
    catalogue_flag = "--list-templates"
    tools = {"import": "store the backrooms study's logs ({models}_{template}_{YYYYmmdd_HHMMSS}.txt) found under DIR"}

    def catalogue(self) -> list[str]:
        lines = []
        for name in shipped_templates():
            participants = parse_template((TEMPLATES / f"{name}.jsonl").read_text(encoding="utf-8"), name)
            lines.append(f"{name:16} {len(participants)} participants: {participants[0]['system_prompt'][:70]}...")
        return lines

    def plan(self, values: Mapping[str, Any], common: Common, experiment: Experiment | None = None) -> BatchPlan:
        given = values.get("lm") or []
        rooms = [room_llms(room, values, common.aliases) for room in given]
        # a study alias (opus) brings the study's display name and company for its placeholders
        actors = [[_actor(find_alias(word, common.aliases)) for word in room] for room in given]
        if not rooms:
            raise ValidationError("--lm is required (one model spec per template participant)")
        if values.get("templates") and values.get("template_file"):
            raise ValidationError("give --template or --template-file, not both")
        templates = [read_template(None, values["template_file"])] if values.get("template_file") else \
            [read_template(name, None) for name in (values.get("templates") or [None])]
        turns = self.inputs[3].check(values.get("max_turns"))

        def with_room(spec: RunSpec, index: int) -> RunSpec:
            return dataclasses.replace(spec.with_options(actors=actors[index]), llms=rooms[index],
                                       n_messages=turns * len(rooms[index]))

        def with_template(spec: RunSpec, index: int) -> RunSpec:
            name, script = templates[index]
            return spec.with_options(template=name, script=script)

        base = with_template(with_room(RunSpec(protocol=self.name, llms=(), n_messages=1, seed=common.seed,
                                               stops=common.stops), 0), 0)
        axes = []
        if len(rooms) > 1:
            axes.append(Axis("lm", tuple(range(len(rooms))), with_room))
        if len(templates) > 1:
            axes.append(Axis("template", tuple(range(len(templates))), with_template))
        if common.repeats != 1:
            axes.append(Axis("repeat", repeat_values(common.repeats)))
        return BatchPlan(base=base, axes=tuple(axes), token_budget=common.token_budget,
                         description={"rooms": [{"models": [l.model for l in room]} for room in rooms],
                                      "templates": [t[0] for t in templates],
                                      "max_turns": turns})

    def check(self, spec: RunSpec, experiment: Experiment | None = None) -> RunSpec:
        spec = super().check(spec)
        script = spec.option("script")
        if not isinstance(script, (list, tuple)) or not script:
            raise ValidationError("backrooms: the template has no participants")
        if len(spec.llms) != len(script):
            raise ValidationError(f"template {spec.option('template')} has {len(script)} participants but "
                                  f"{len(spec.llms)} models were given (--lm takes one per participant)")
        return spec

    def prepare(self, spec: RunSpec, experiment: Experiment | None, rng: random.Random) -> Prepared:
        names, companies = participant_names(spec)
        template = spec.option("template")
        agents = tuple(Agent(name, "participant", i) for i, name in enumerate(names))
        prompts, contexts = {}, {}
        for i, (agent, part) in enumerate(zip(agents, spec.option("script"))):
            where = f"template {template} line {i + 1}"
            prompts[agent.name] = fill(part["system_prompt"], names, companies, where)
            contexts[agent.name] = [{"role": m["role"], "content": fill(m["content"], names, companies, where)}
                                    for m in part["context"]]
        # participants are named after their models, so these maps are stored as pairs (core/named.py)
        return Prepared(title=f"Backrooms: {template}", agents=agents, prompts=prompts,
                        extras={"contexts": to_pairs(contexts), "companies": to_pairs(dict(zip(names, companies)))})

    def engine(self, conversation: Conversation, models: Sequence[ChatModel],
               chooser: ManualChooser | None = None) -> EngineParts:
        prepared = conversation.prepared
        view = BackroomsView(prepared.prompts, from_pairs(prepared.extras["contexts"]))
        return EngineParts(selector=RoundRobin(), view=view,
                           stop=MessageBudget(conversation.spec.n_messages) | Keyword(STOP), cleaner=Verbatim(),
                           rounds=True)

    def observers(self, conversation: Conversation, state: ConversationState) -> list[Observer]:
        return [BackroomsLog(log_path(conversation), state.turns)]
