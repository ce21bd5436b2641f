"""A scripted ChatModel for engine unit tests: replies come from a function, calls are kept.

Only engine logic is tested with it; the real providers are tested against Ollama.
"""

from __future__ import annotations

from typing import Callable, Sequence

from simulator.llm.types import ChatOptions, Reply
from simulator.llm.usage import UsageMeter

Script = Callable[[Sequence[dict], ChatOptions, int], str]


class ScriptedModel:
    spec = "scripted/test"
    endpoint = "scripted"

    def __init__(self, script: Script | list[str], meter: UsageMeter | None = None):
        self.script = script
        self.calls: list[tuple[list[dict], ChatOptions]] = []
        self.meter = meter

    async def chat(self, messages, options):
        n = len(self.calls)
        self.calls.append(([dict(m) for m in messages], options))
        if callable(self.script):
            text = self.script(messages, options, n)
        else:
            text = self.script[n % len(self.script)]
        reply = Reply(text=text, prompt_tokens=10, completion_tokens=5, latency=0.0, model="scripted")
        if self.meter is not None:
            self.meter.add(self.spec, reply)
        return reply


def speaker_of(messages: Sequence[dict]) -> str:
    """The agent a view was built for, read from its system prompt ('You are NAME')."""
    system = messages[0]["content"]
    return system.split("You are ", 1)[1].split(",", 1)[0].split(".", 1)[0].split()[0]


def is_summary_call(messages: Sequence[dict]) -> bool:
    return "Write the summary of day" in messages[-1]["content"]
