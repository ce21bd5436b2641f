"""What a protocol declares, so the loop, the CLI, the menus and the batch planner need no more.

A protocol is one module: who takes part and who acts at each step (one speaker chosen by a
strategy, or every participant in order within a numbered round), what each participant
sees, its default stops, whether it has days and summaries, and its own options. Options
are declared as data (`Option`: type, range, default, help) so the same declaration builds
the command-line flags, the menu questions and the checks, and a new option reaches every
front end at once.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

from simulator.core.assignments import parse_assignments
from simulator.core.conversation import Conversation, Prepared
from simulator.core.experiment import Experiment, LLMSetting
from simulator.core.model_aliases import find_alias
from simulator.core.model_spec import parse_spec
from simulator.core.parsing import parse_number, parse_whole
from simulator.core.run_spec import RunSpec, StopSettings
from simulator.core.sweep import BatchPlan
from simulator.engine.context import ContextView
from simulator.engine.leakage import Cleaner
from simulator.engine.loop import Observer, Summarizing
from simulator.engine.selection import ManualChooser, SpeakerSelector
from simulator.engine.state import ConversationState
from simulator.engine.stops import Stop, StopCondition
from simulator.errors import ValidationError
from simulator.llm.types import ChatModel

KINDS = ("int", "float", "text", "flag", "texts", "choice", "counts", "pairs", "data")


@dataclass(frozen=True)
class Option:
    """One setting of a protocol, read by the CLI (a flag), the menus (a question) and `check`."""

    name: str
    help: str
    kind: str = "int"  # one of KINDS; counts: {name: whole number}, pairs: {name: text}
    default: Any = None
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    flag: str | None = None  # default: --name-with-dashes
    required: bool = False
    repeatable: bool = False  # given several times, each a cell of a sweep (e.g. one room per --models)
    asked: bool = True  # False: derived by `plan` (a template's contents), not a flag or a question

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def describe_range(self) -> str:
        if self.choices:
            return ", ".join(self.choices)
        if self.low is not None and self.high is not None:
            return f"{self.low:g} to {self.high:g}"
        return ""

    def check(self, value: Any) -> Any:
        """The value in its proper type, or one ValidationError naming the option and what is allowed."""
        where = self.cli_flag if self.asked else self.name
        if self.kind == "data":  # structured, checked by the protocol itself
            return value
        if value is None or (self.kind == "texts" and isinstance(value, (list, tuple)) and not value):
            if self.required:
                raise ValidationError(f"{where} is required ({self.help})")
            return self.default
        if self.kind == "flag":
            if not isinstance(value, bool):
                raise ValidationError(f"{where}: expected true or false, got {value!r}")
            return value
        if self.kind in ("int", "float"):
            return self._number(value, where)
        if self.kind == "choice":
            if value not in self.choices:
                raise ValidationError(f"{where}: {value!r} is not one of {', '.join(self.choices)}")
            return value
        if self.kind in ("counts", "pairs"):
            return self._mapping(value, where)
        if self.kind == "texts":
            values = [value] if isinstance(value, str) else list(value)
            if not values or not all(isinstance(v, str) and v.strip() for v in values):
                raise ValidationError(f"{where}: give one or more non-empty texts")
            return tuple(values)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{where}: give a non-empty text")
        return value

    def parse_text(self, text: str) -> Any:
        """A typed answer (a menu's) as this option's value, checked; blank means the default."""
        raw = text.strip()
        if self.kind in ("int", "float"):
            low = self.low if self.low is not None else -10**12
            high = self.high if self.high is not None else 10**12
            try:  # the one reading of a typed number (simulator/core/parsing.py): ASCII digits, in range
                value: Any = (parse_whole(raw, int(low), int(high)) if self.kind == "int"
                              else parse_number(raw, low, high)) if raw else None
            except ValueError as exc:
                raise ValidationError(f"{self.cli_flag}: {exc}") from None
        elif self.kind == "texts":
            value = [line.strip() for line in text.splitlines() if line.strip()] or None
        elif self.kind in ("counts", "pairs"):
            value = parse_assignments(raw, self.cli_flag, integer=self.kind == "counts") if raw else None
        else:
            value = raw or None
        checked = self.check(value)
        return [checked] if self.repeatable and checked is not None else checked

    def _mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) and k for k in value):
            raise ValidationError(f"{where}: expected NAME=VALUE pairs, got {value!r}")
        if self.kind == "pairs":
            if not all(isinstance(v, str) and v for v in value.values()):
                raise ValidationError(f"{where}: every value must be a non-empty text")
            return dict(value)
        return {k: Option(k, "", "int", low=self.low, high=self.high, flag=f"{where} {k}")._number(v, f"{where} {k}")
                for k, v in value.items()}

    def _number(self, value: Any, where: str) -> int | float:
        integer = self.kind == "int"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and isinstance(value, float)
                                                                             and not value.is_integer()):
            raise ValidationError(f"{where}: expected {'a whole number' if integer else 'a number'}, got {value!r}")
        if not math.isfinite(value) or (self.low is not None and value < self.low) or \
                (self.high is not None and value > self.high):
            raise ValidationError(f"{where}: {value!r} is out of range ({self.describe_range()})")
        return int(value) if integer else float(value)


TEMPERATURE = Option("temperature", "sampling temperature of every participant", "float", default=0.7, low=0, high=2)
MAX_TOKENS = Option("max_tokens", "longest reply in tokens (default: the model's own limit)", "int", low=1,
                    high=100_000)


def room_llms(models: Sequence[str], values: Mapping[str, Any],
              aliases: Mapping[str, str] | None = None) -> tuple[LLMSetting, ...]:
    """One LLM setting per participant, all with the sampling options a front end gave; a study's short
    name (`opus`) stands for its model with the study's temperature and token limit unless given here."""
    temperature, max_tokens = TEMPERATURE.check(values.get("temperature")), MAX_TOKENS.check(values.get("max_tokens"))
    settings = []
    for model in models:
        alias = find_alias(model, aliases)
        if alias is None:
            settings.append(LLMSetting(model=str(parse_spec(model)), temperature=temperature, max_tokens=max_tokens))
        else:
            given = values.get("temperature") is not None
            settings.append(LLMSetting(model=alias.spec, temperature=temperature if given else alias.temperature,
                                       max_tokens=max_tokens or alias.max_tokens or None))
    return tuple(settings)


@dataclass(frozen=True)
class Common:
    """What every protocol's front end asks for besides the protocol's own inputs."""

    seed: int | None = None
    stops: StopSettings = StopSettings()
    repeats: int = 1
    token_budget: int | None = None  # for the whole batch
    aliases: Mapping[str, str] = field(default_factory=dict)  # short model names set in the settings


@dataclass
class EngineParts:
    """The strategies one run of a protocol plugs into the turn loop."""

    selector: SpeakerSelector
    view: ContextView
    stop: StopCondition
    cleaner: Cleaner
    summarizing: Summarizing | None = None  # None: the protocol has no days and no summaries
    days: int = 1
    rounds: bool = False  # messages carry the round: every participant speaks once per round
    schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # participant -> JSON reply shape
    logprobs: Mapping[str, int] = field(default_factory=dict)  # participant -> top log-probabilities to record


class Protocol:
    """Base of every protocol module; subclasses fill in the class attributes and methods."""

    name: ClassVar[str]  # stored on every conversation
    title: ClassVar[str]  # shown in menus and help
    command: ClassVar[str]  # the `simulator COMMAND` that runs it
    summary: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()  # stored in the run spec, checked by `check`
    inputs: ClassVar[tuple[Option, ...]] = ()  # what else a front end asks for, turned into specs by `plan`
    needs_experiment: ClassVar[bool] = False
    has_days: ClassVar[bool] = False  # days end with a summary
    has_roles: ClassVar[bool] = False  # participants play roles (coloured by role, cleaned of other roles' lines)

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    def check_options(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Every declared option checked (defaults filled in); unknown names refused."""
        unknown = sorted(set(values) - {o.name for o in self.options})
        if unknown:
            raise ValidationError(f"{self.name}: unknown option(s) {', '.join(unknown)}")
        return {o.name: o.check(values.get(o.name)) for o in self.options}

    def check(self, spec: RunSpec, experiment: Experiment | None = None) -> RunSpec:
        """The spec with its options checked and normalised; raises before anything is written."""
        if not 1 <= spec.n_messages <= 100_000:
            raise ValidationError(f"messages must be 1 to 100000, got {spec.n_messages}")
        return RunSpec(**{**vars(spec), "options": self.check_options(spec.options)})

    def plan(self, values: Mapping[str, Any], common: Common, experiment: Experiment | None = None) -> BatchPlan:
        """The runs a front end asked for: `values` of every input and option (None when not given)."""
        raise NotImplementedError

    def prepare(self, spec: RunSpec, experiment: Experiment | None, rng: random.Random) -> Prepared:
        raise NotImplementedError

    def engine(self, conversation: Conversation, models: Sequence[ChatModel],
               chooser: ManualChooser | None = None) -> EngineParts:
        """The strategies for one run; `models[i]` speaks for the participants whose `llm` is i."""
        raise NotImplementedError

    catalogue_flag: ClassVar[str | None] = None  # a flag that lists what the protocol ships (templates)
    tools: ClassVar[dict[str, str]] = {}  # `simulator COMMAND TOOL PATH` actions (telephone import), with help

    def catalogue(self) -> list[str]:
        return []

    def asked(self) -> tuple[Option, ...]:
        """What a front end asks for: the inputs and the options not derived by `plan`."""
        return tuple(o for o in (*self.inputs, *self.options) if o.asked)

    def observers(self, conversation: Conversation, state: ConversationState) -> list[Observer]:
        """Extra observers of a run (a plain log file), beside the front end's own."""
        return []

    def outcome(self, conversation: Conversation, state: ConversationState, stop: Stop) -> dict[str, Any]:
        """What the run found, stored on the conversation when it ends."""
        return {}

    def estimated_calls(self, spec: RunSpec) -> int:
        return spec.n_messages

    def readable(self, role: str, content: str) -> str:
        """How a stored turn reads in a transcript (the terminal, the explorer); exports keep it as stored."""
        return content
