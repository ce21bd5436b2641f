"""Iterated in-context learning in the light-box world: does a small bias grow generation after generation?

The world: objects A, B, C, D and a screen. A hypothesis gives each object one of on, off or
und (undetermined): 3^5 = 243 hypotheses. For an input (a non-empty set of objects) the light
is on if any chosen object is on, else und if any is und, else off. The true hypothesis is
fixed per run; the original examples are inputs with the light's state under it.

Each generation is a round of turns by the same model: `infer` sees the data (the original
examples in generation 1, else what the previous generation wrote) and states the rule it
infers as JSON; an optional filter turn, `check`, revises it (self: against the original
examples; mismatch: told by the code which original examples the rule gets wrong); `produce`
writes M new examples from the rule, the next generation's data. Replies follow a JSON schema
(structured output where the server supports it) and are still parsed defensively: an
invalid reply is counted, never a crash (a generation whose examples are unusable passes
the data it was given on). Everything a view needs is in the stored turns, so resume works.
The rule turns ask for the top log-probabilities (the study's five), from which the analysis
reads the model's posterior over the 243 hypotheses when the server gives them.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from simulator.core.agents import Agent
from simulator.core.assignments import parse_assignments
from simulator.core.conversation import Conversation, Prepared
from simulator.core.experiment import Experiment
from simulator.core.grid import repeat_values
from simulator.core.run_spec import RunSpec
from simulator.core.sweep import Axis, BatchPlan
from simulator.engine.leakage import Verbatim
from simulator.engine.selection import ManualChooser, RoundRobin
from simulator.engine.state import ConversationState, Turn
from simulator.engine.stops import MessageBudget
from simulator.errors import ValidationError
from simulator.llm.types import ChatMessage, ChatModel
from simulator.protocols.base import MAX_TOKENS, TEMPERATURE, Common, EngineParts, Option, Protocol, room_llms

OBJECTS = ("A", "B", "C", "D", "screen")
STATES = ("on", "off", "und")
INPUTS = tuple(frozenset(c) for n in range(1, len(OBJECTS) + 1) for c in itertools.combinations(OBJECTS, n))
DEFAULT_TRUTH = {"A": "on", "B": "off", "C": "und", "D": "off", "screen": "on"}
BIASES = {"none": "", "screen_off": "Most people who have studied such boxes believe that screens leave the light off."}
FILTERS = ("none", "self", "mismatch")
# top log-probabilities asked for at the rule turns: the study's top_logprobs=5 (OpenAI allows at most 20); the
# posterior over hypotheses is read from them (simulator.analysis.posterior)
TOP_LOGPROBS = 5
Hypothesis = Mapping[str, str]
Example = tuple[frozenset, str]


# --- the world -------------------------------------------------------------------------

def light(hypothesis: Hypothesis, chosen: Iterable[str]) -> str:
    states = {hypothesis[o] for o in chosen}
    return "on" if "on" in states else "und" if "und" in states else "off"


def hypothesis_accuracy(hypothesis: Hypothesis, truth: Hypothesis) -> float:
    """The share of objects the hypothesis assigns as the truth does."""
    return sum(hypothesis[o] == truth[o] for o in OBJECTS) / len(OBJECTS)


def example_accuracy(hypothesis: Hypothesis, examples: Sequence[Example]) -> float:
    """The share of examples whose light the hypothesis predicts."""
    return sum(light(hypothesis, chosen) == seen for chosen, seen in examples) / len(examples) if examples else 0.0


def biased(hypothesis: Hypothesis) -> bool:
    """The property the bias instruction favours: the screen leaves the light off."""
    return hypothesis["screen"] == "off"


def sample_examples(truth: Hypothesis, count: int, rng: random.Random) -> list[Example]:
    return [(chosen, light(truth, chosen)) for chosen in rng.sample(INPUTS, min(count, len(INPUTS)))]


def describe(examples: Sequence[Example]) -> str:
    return "\n".join(f"- {' + '.join(o for o in OBJECTS if o in chosen)} -> light {seen}" for chosen, seen in examples)


# --- parsing what the model wrote --------------------------------------------------------

def _json(text: str) -> Any:
    """The first JSON value in a reply, inside a code fence or not; None when there is none."""
    text = re.sub(r"```(?:json)?", "", text)
    for start, char in enumerate(text):
        if char in "{[":
            try:
                return json.JSONDecoder().raw_decode(text[start:])[0]
            except json.JSONDecodeError:
                continue
    return None


def _state(value: Any) -> str | None:
    word = str(value).strip().lower()
    return {"undetermined": "und", "undefined": "und", "unknown": "und"}.get(word, word) if word else None


def parse_hypothesis(text: str) -> dict[str, str] | None:
    """A complete hypothesis from a JSON reply (keys in any case), or None when it is not one."""
    data = _json(text)
    if isinstance(data, dict) and isinstance(data.get("rule"), dict):
        data = data["rule"]
    if not isinstance(data, dict):
        return None
    by_name = {str(k).strip().lower(): v for k, v in data.items()}
    hypothesis = {o: _state(by_name.get(o.lower(), "")) for o in OBJECTS}
    return hypothesis if all(s in STATES for s in hypothesis.values()) else None


def parse_examples(text: str) -> tuple[list[Example], int]:
    """(the usable examples, how many items were not) from a JSON reply; ([], 1) when it is not JSON."""
    data = _json(text)
    items = data.get("examples") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return [], 1
    examples, invalid = [], 0
    for item in items:
        chosen = item.get("objects") if isinstance(item, dict) else None
        seen = _state(item.get("light", "")) if isinstance(item, dict) else None
        names = {str(o).strip().lower(): o for o in chosen} if isinstance(chosen, list) else {}
        objects = frozenset(o for o in OBJECTS if o.lower() in names)
        if objects and len(objects) == len(names) and seen in STATES:
            examples.append((objects, seen))
        else:
            invalid += 1
    return examples, invalid


# --- the protocol --------------------------------------------------------------------------

HYPOTHESIS_SCHEMA = {"type": "object", "properties": {o: {"type": "string", "enum": list(STATES)} for o in OBJECTS},
                     "required": list(OBJECTS)}


def examples_schema(count: int) -> dict[str, Any]:
    item = {"type": "object", "properties": {"objects": {"type": "array", "items": {"type": "string", "enum": list(
        OBJECTS)}, "minItems": 1}, "light": {"type": "string", "enum": list(STATES)}}, "required": ["objects", "light"]}
    return {"type": "object", "properties": {"examples": {"type": "array", "items": item, "minItems": count,
                                                          "maxItems": count}}, "required": ["examples"]}


WORLD = ("A box has a light and five objects: A, B, C, D and a screen. Each object either turns the light on, "
         "leaves it off, or is undetermined (und). When some objects are placed on the box, the light is on if any "
         "of them turns it on; otherwise it is und if any of them is und; otherwise it is off.")


@dataclass(frozen=True)
class Generation:
    """What one generation did, read back from its stored turns."""

    data: list[Example]  # what it was shown
    rule: dict[str, str] | None  # after the filter, if any
    stated: dict[str, str] | None  # before the filter
    produced: list[Example]
    invalid: int  # replies that were not valid JSON of the asked shape, and unusable example items


def generations(turns: Sequence[Turn], roles: Sequence[str], original: list[Example]) -> list[Generation]:
    """Every complete or partial generation of a chain, from its turns in order."""
    result, data = [], original
    for start in range(0, len(turns), len(roles)):
        by_role = {t.role: t.content for t in turns[start:start + len(roles)]}
        stated = parse_hypothesis(by_role["infer"]) if "infer" in by_role else None
        checked = parse_hypothesis(by_role["check"]) if "check" in by_role else None
        rule = checked if "check" in roles else stated
        produced, bad_items = parse_examples(by_role["produce"]) if "produce" in by_role else ([], 0)
        invalid = (("infer" in by_role and stated is None) + ("check" in by_role and checked is None)
                   + bad_items)
        result.append(Generation(data, rule, stated, produced, invalid))
        data = produced or data
    return result


class LearningView:
    name = "iterated_learning"

    def __init__(self, original: list[Example], bias: str, count: int, filter_: str):
        self.original, self.bias, self.count, self.filter = original, bias, count, filter_

    def view_for(self, agent: Agent, state: ConversationState, day: int) -> list[ChatMessage]:
        roles = [a.role for a in state.agents]
        this_round = state.turns[len(state.turns) - len(state.turns) % len(roles):]
        system = WORLD + (f" {self.bias}" if self.bias else "")
        if agent.role == "infer":  # a generation starts: its data is what the previous one produced
            done = generations(state.turns, roles, self.original)
            data = (done[-1].produced or done[-1].data) if done else self.original
            task = (f"Observations:\n{describe(data)}\n\nWhich rule explains them? Answer with a JSON object giving "
                    f"each of A, B, C, D and screen the value on, off or und.")
        elif agent.role == "check":
            task = self.check_task(this_round[0].content)
        else:
            rule = this_round[-1].content
            task = (f"Your rule: {rule}\n\nWrite {self.count} new observations that follow this rule, as JSON: "
                    f'{{"examples": [{{"objects": ["A", "screen"], "light": "on"}}, ...]}}.')
        return [{"role": "system", "content": system}, {"role": "user", "content": task}]

    def check_task(self, stated_text: str) -> str:
        stated = parse_hypothesis(stated_text)
        if self.filter == "mismatch":
            wrong = [(c, s) for c, s in self.original if stated is None or light(stated, c) != s]
            found = f"It gets these original observations wrong:\n{describe(wrong)}" if wrong else \
                "It explains every original observation."
            return f"Your rule: {stated_text}\n{found}\n\nGive your final rule as the same kind of JSON object."
        return (f"Your rule: {stated_text}\n\nCheck it against the original observations:\n{describe(self.original)}"
                f"\n\nIf it gets any wrong, correct it. Give your final rule as the same kind of JSON object.")


class IteratedLearning(Protocol):
    name = "iterated_learning"
    title = "Iterated learning"
    command = "iterated-learning"
    summary = "generations of a model learn a light-box rule from the previous generation's examples"
    inputs = (
        Option("llm", "model spec of every generation", "text", required=True),
        Option("generations", "generations per chain", "int", default=6, low=1, high=1_000),
        Option("filters", "between inferring and producing: none, self (check against the original examples) or "
                          "mismatch (told which original examples the rule gets wrong); several for a sweep",
               "choice", choices=FILTERS, flag="--filter", repeatable=True),
        TEMPERATURE, MAX_TOKENS,
    )
    options = (
        Option("examples", "examples per generation (M)", "int", default=4, low=1, high=31),
        Option("bias", "an instruction favouring a property: screen_off (the screen leaves the light off)",
               "choice", default="none", choices=tuple(BIASES)),
        Option("truth", "the true hypothesis, e.g. A=on,B=off,C=und,D=off,screen=on", "pairs",
               default=DEFAULT_TRUTH),
        Option("filter", "the filter of this chain", "choice", default="none", choices=FILTERS, asked=False),
    )

    def plan(self, values: Mapping[str, Any], common: Common, experiment: Experiment | None = None) -> BatchPlan:
        llms = room_llms([self.inputs[0].check(values.get("llm"))], values, common.aliases)
        filters = list(dict.fromkeys(values.get("filters") or ["none"]))
        per_generation = {f: 2 if f == "none" else 3 for f in filters}
        generations_ = self.inputs[1].check(values.get("generations"))
        options = {o.name: values.get(o.name) for o in self.options if o.asked}
        base = RunSpec(protocol=self.name, llms=llms, n_messages=generations_ * per_generation[filters[0]],
                       options={**options, "filter": filters[0]}, seed=common.seed, stops=common.stops)
        axes = []
        if len(filters) > 1:
            axes.append(Axis("filter", tuple(filters), lambda spec, f: dataclasses.replace(
                spec.with_options(filter=f), n_messages=generations_ * per_generation[f])))
        if common.repeats != 1:
            axes.append(Axis("repeat", repeat_values(common.repeats)))
        return BatchPlan(base=base, axes=tuple(axes), token_budget=common.token_budget,
                         description={"filters": filters, "generations": generations_})

    def check(self, spec: RunSpec, experiment: Experiment | None = None) -> RunSpec:
        spec = super().check(spec)
        truth = spec.option("truth")
        if isinstance(truth, str):
            truth = parse_assignments(truth, "--truth")
        truth = {str(k): _state(v) for k, v in truth.items()}
        if set(truth) != set(OBJECTS) or not all(s in STATES for s in truth.values()):
            raise ValidationError(f"--truth: give each of {', '.join(OBJECTS)} one of {', '.join(STATES)}")
        if spec.n_messages % len(self.roles(spec)):
            raise ValidationError("iterated learning: messages must be whole generations")
        return spec.with_options(truth=truth)

    @staticmethod
    def roles(spec: RunSpec) -> list[str]:
        return ["infer", "produce"] if spec.option("filter", "none") == "none" else ["infer", "check", "produce"]

    def prepare(self, spec: RunSpec, experiment: Experiment | None, rng: random.Random) -> Prepared:
        original = sample_examples(spec.option("truth"), spec.option("examples"), rng)
        agents = tuple(Agent(role, role, 0) for role in self.roles(spec))
        return Prepared(title=f"Iterated learning: filter {spec.option('filter')}, bias {spec.option('bias')}",
                        agents=agents, prompts={a.name: "" for a in agents}, starting_message=describe(original),
                        extras={"original": [{"objects": sorted(c), "light": s} for c, s in original]})

    def engine(self, conversation: Conversation, models: Sequence[ChatModel],
               chooser: ManualChooser | None = None) -> EngineParts:
        spec = conversation.spec
        view = LearningView(original_examples(conversation), BIASES[spec.option("bias")], spec.option("examples"),
                            spec.option("filter"))
        schemas = {"infer": HYPOTHESIS_SCHEMA, "check": HYPOTHESIS_SCHEMA, "produce": examples_schema(
            spec.option("examples"))}
        rule_turns = {role: TOP_LOGPROBS for role in self.roles(spec) if role in ("infer", "check")}
        return EngineParts(selector=RoundRobin(), view=view, stop=MessageBudget(spec.n_messages), cleaner=Verbatim(),
                           rounds=True, schemas=schemas, logprobs=rule_turns)

    def estimated_calls(self, spec: RunSpec) -> int:
        return spec.n_messages

    def readable(self, role: str, content: str) -> str:
        """A rule as `A on · B off · ...` and examples one per line, not the JSON the model wrote (with its
        runs of whitespace); a reply that is neither is shown with its whitespace folded."""
        rule = parse_hypothesis(content) if role in ("infer", "check") else None
        if rule is not None:
            return "rule: " + " · ".join(f"{o} {rule[o]}" for o in OBJECTS)
        examples, invalid = parse_examples(content) if role == "produce" else ([], 0)
        if examples:
            return "\n".join([f"{len(examples)} examples" + (f" ({invalid} unusable)" if invalid else "") + ":",
                              describe(examples)])
        return re.sub(r"[ \t]{2,}", " ", re.sub(r"\n\s*\n+", "\n", content)).strip()


def original_examples(conversation: Conversation) -> list[Example]:
    return [(frozenset(e["objects"]), e["light"]) for e in conversation.prepared.extras["original"]]
