"""The telephone chain: a text passed along generation after generation, drifting as it goes.

Generation 1 gets an instruction and the initial text; every later generation gets the
instruction and only the previous generation's output. A run is texts x seeds (x
temperatures) chains through the batch runner. The chain's series for analysis is the
initial text (generation 0) followed by each generation's output, so a chain of G
generations stores G messages.

Instructions (rephrase, inspiration, continue) and ten initial texts ship in
prompts/telephone/; `--texts FILE` takes any YAML or JSON list of {id, text}. Chains that
the telephone-game study published can be imported (`simulator telephone import DIR`,
simulator/actions/telephone.py) and analysed with the same code.
"""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from simulator.core.agents import Agent
from simulator.core.conversation import Conversation, Prepared
from simulator.core.experiment_file import load_data
from simulator.core.parsing import parse_whole
from simulator.core.experiment import Experiment, LLMSetting
from simulator.core.grid import repeat_values
from simulator.core.run_spec import RunSpec
from simulator.core.sweep import Axis, BatchPlan
from simulator.engine.leakage import Cleaned, drop_unfinished_sentence
from simulator.engine.selection import ManualChooser, RoundRobin
from simulator.engine.state import ConversationState
from simulator.engine.stops import MessageBudget
from simulator.errors import ValidationError
from simulator.files import read_text
from simulator.prompts import shipped
from simulator.llm.types import ChatMessage, ChatModel
from simulator.protocols.base import MAX_TOKENS, TEMPERATURE, Common, EngineParts, Option, Protocol, room_llms

FOLDER = shipped("telephone")
MAX_TEXTS_BYTES = 1_000_000
MAX_SEED = 2**31 - 1  # as --seed
# "Sure! Here is the rephrased text:" - a short first line ending in a colon, before the text itself
PREAMBLE = re.compile(r"\A[^\n]{0,100}:[ \t]*\n+(?=\S)")


def instructions() -> dict[str, dict[str, str]]:
    return yaml.safe_load((FOLDER / "instructions.yaml").read_text(encoding="utf-8"))


def read_texts(path: str | None) -> list[dict[str, str]]:
    """Initial texts, each {id, text}: the shipped ten, or a YAML/JSON list of your own."""
    file = Path(path).expanduser() if path else FOLDER / "texts.yaml"
    where = f"--texts {path}" if path else str(file)
    items = load_data(read_text(file, MAX_TEXTS_BYTES, where), where, is_json=file.suffix.lower() == ".json")
    if not isinstance(items, list) or not items:
        raise ValidationError(f"{where}: expected a list of {{id, text}}")
    texts = []
    for number, item in enumerate(items, start=1):
        if not (isinstance(item, dict) and isinstance(item.get("id"), (str, int)) and isinstance(item.get("text"), str)
                and item["text"].strip()):
            raise ValidationError(f"{where}: item {number} needs an id and a non-empty text")
        texts.append({"id": str(item["id"]), "text": item["text"].strip()})
    if len({t["id"] for t in texts}) != len(texts):
        raise ValidationError(f"{where}: text ids must be unique")
    return texts


class ChainView:
    """The instruction and one text: the initial text for the first generation, else the previous output."""

    name = "chain"

    def __init__(self, first: str, following: str, initial: str):
        self.first, self.following, self.initial = first, following, initial

    def view_for(self, agent: Agent, state: ConversationState, day: int) -> list[ChatMessage]:
        instruction, text = (self.following, state.turns[-1].content) if state.turns else (self.first, self.initial)
        return [{"role": "user", "content": f"{instruction}\n\n{text}"}]


class ChainCleaner:
    """The text a generation passes on: its reply without a leading "Here is the text:" line, and without
    a last sentence the token limit cut off (when a finished one remains)."""

    def clean(self, reply: str, agent: Agent, agents: Sequence[Agent], truncated: bool) -> Cleaned:
        text = PREAMBLE.sub("", reply.strip(), count=1).strip()
        finished = drop_unfinished_sentence(text) if truncated else text  # cut by the token limit mid-sentence
        return Cleaned(text=finished, raw=reply, stripped_prefix=text != reply.strip(), cut=finished != text)


class Telephone(Protocol):
    name = "telephone"
    title = "Telephone chain"
    command = "telephone"
    summary = "pass a text along a chain of generations (texts x seeds chains); `telephone import DIR` stores " \
              "published chains"
    inputs = (
        Option("llm", "model spec of every generation", "text", required=True),
        Option("texts", "a YAML or JSON list of {id, text} (default: the ten shipped texts)", "text"),
        Option("seeds", "chains per text, each with its own seed", "int", default=1, low=1, high=10_000),
        Option("generations", "generations per chain", "int", default=10, low=1, high=10_000),
        Option("temperatures", "sampling temperature; give several for a sweep", "float", default=None, low=0,
               high=2, flag="--temperature", repeatable=True),
        MAX_TOKENS,
    )
    options = (
        Option("instruction", "what each generation is asked to do", "choice", default="rephrase",
               choices=("rephrase", "inspiration", "continue")),
        Option("text_id", "the initial text's id", "text", asked=False),
        Option("text", "the initial text", "text", asked=False),
        Option("prompt_first", "the instruction given with the initial text", "text", asked=False),
        Option("prompt_next", "the instruction given with the previous output", "text", asked=False),
        Option("imported_from", "the published file an imported chain came from", "text", asked=False),
    )
    tools = {"import": "store every published chain found under DIR (Results/<model>/<instruction>/<text_id>/"
                       "seed_<k>/output0.json)"}

    def plan(self, values: Mapping[str, Any], common: Common, experiment: Experiment | None = None) -> BatchPlan:
        texts = read_texts(values.get("texts"))
        instruction = self.option("instruction").check(values.get("instruction"))
        prompts = instructions()[instruction]
        temperatures = values.get("temperatures") or [TEMPERATURE.default]
        llms = [room_llms([self.inputs[0].check(values.get("llm"))], {**values, "temperature": t}, common.aliases)
                for t in temperatures]
        base = RunSpec(protocol=self.name, llms=llms[0], n_messages=self.inputs[3].check(values.get("generations")),
                       seed=common.seed, stops=common.stops,
                       options={"instruction": instruction, "prompt_first": prompts["first"],
                                "prompt_next": prompts["next"], "text_id": texts[0]["id"], "text": texts[0]["text"]})
        axes = [Axis("text_id", tuple(t["id"] for t in texts),
                     lambda spec, text_id: spec.with_options(
                         text_id=text_id, text=next(t["text"] for t in texts if t["id"] == text_id)))]
        if len(llms) > 1:
            axes.append(Axis("temperature", tuple(temperatures),
                             lambda spec, t: dataclasses.replace(spec, llms=llms[temperatures.index(t)])))
        seeds = self.inputs[2].check(values.get("seeds"))
        repeats = seeds * common.repeats
        if repeats > 1:
            axes.append(Axis("repeat", repeat_values(repeats)))
        if len(axes) == 1 and len(texts) == 1:
            axes = []
        return BatchPlan(base=base, axes=tuple(axes), token_budget=common.token_budget,
                         description={"instruction": instruction, "texts": [t["id"] for t in texts],
                                      "seeds": seeds, "temperatures": list(temperatures)})

    def check(self, spec: RunSpec, experiment: Experiment | None = None) -> RunSpec:
        spec = super().check(spec)
        if len(spec.llms) != 1:
            raise ValidationError(f"a telephone chain has one model, got {len(spec.llms)}")
        for name in ("text", "prompt_first", "prompt_next"):
            if not isinstance(spec.option(name), str) or not spec.option(name).strip():
                raise ValidationError(f"telephone: {name} is missing")
        return spec

    def prepare(self, spec: RunSpec, experiment: Experiment | None, rng: random.Random) -> Prepared:
        model = spec.llms[0].model.split("/", 1)[-1]
        return Prepared(title=f"Telephone: {spec.option('instruction')} {spec.option('text_id')}",
                        agents=(Agent(model, "generation", 0),), prompts={model: ""},
                        starting_message=spec.option("text"))

    def engine(self, conversation: Conversation, models: Sequence[ChatModel],
               chooser: ManualChooser | None = None) -> EngineParts:
        spec = conversation.spec
        return EngineParts(selector=RoundRobin(),
                           view=ChainView(spec.option("prompt_first"), spec.option("prompt_next"), spec.option("text")),
                           stop=MessageBudget(spec.n_messages), cleaner=ChainCleaner())


PUBLISHED = re.compile(r"(?P<model>[^/]+)/(?P<instruction>[^/]+)/(?P<text_id>[^/]+)/seed_(?P<seed>[^/]+)/output0\.json$")


def published_chain(data: Any, relative: str) -> tuple[RunSpec, Prepared, list[str]]:
    """A chain the telephone-game study published, as our spec, rendered inputs and texts (gen 1..G).

    `relative` is the file's path below the Results folder: <model>/<instruction>/<text_id>/seed_<k>/output0.json.
    """
    match = PUBLISHED.search(relative)
    if match is None:
        raise ValidationError(f"{relative}: not <model>/<instruction>/<text_id>/seed_<k>/output0.json")
    if not isinstance(data, dict):
        raise ValidationError(f"{relative}: expected a JSON object")
    initial, stories = data.get("initial_story"), data.get("stories")
    if not isinstance(initial, str) or not isinstance(stories, list) or not stories:
        raise ValidationError(f"{relative}: needs initial_story (text) and stories (a list per generation)")
    try:  # a seed is stored as a number: ASCII digits in the range every seed has
        seed = parse_whole(match["seed"], 0, MAX_SEED)
    except ValueError as exc:
        raise ValidationError(f"{relative}: the folder seed_{match['seed'][:20]} is not a seed ({exc})") from None
    texts = []
    for generation, agents in enumerate(stories, start=1):
        if not isinstance(agents, list) or not agents or not isinstance(agents[0], str):
            raise ValidationError(f"{relative}: stories[{generation - 1}] must be a list holding the generation's text")
        texts.append(agents[0])
    first, following = (_instruction(data.get(key), relative, key) for key in ("prompt_init", "prompt_update"))
    # provider "published": the study's own model, never called from here
    spec = RunSpec(protocol="telephone", llms=(LLMSetting(model=f"published/{match['model']}", temperature=None),),
                   n_messages=len(texts), seed=seed,
                   options={"instruction": match["instruction"], "text_id": match["text_id"], "text": initial,
                            "prompt_first": first, "prompt_next": following, "imported_from": relative})
    prepared = Prepared(title=f"Telephone: {match['instruction']} {match['text_id']} (published)",
                        agents=(Agent(match["model"], "generation", 0),), prompts={match["model"]: ""},
                        starting_message=initial)
    return spec, prepared, texts


def _instruction(value: Any, relative: str, key: str) -> str:
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    if isinstance(value, str):
        return value
    raise ValidationError(f"{relative}: {key} must be a list of one instruction text")
