"""A telephone chain as generations, with each metric's curve beside them.

The metrics are the analysis's own (simulator/analysis/telephone.py: length, difficulty,
positivity, toxicity, similarity to the initial text and to the previous generation), computed
for this one chain when its page is opened; generation 0 is the initial text.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.analysis.metrics import METRICS, Similarity
from simulator.analysis.telephone import Chain, chain_series
from simulator.analysis.telephone_figures import label
from simulator.core.conversation import Conversation
from simulator.store import Message
from simulator.web.svg import Chart, line_chart


@dataclass(frozen=True)
class Generation:
    number: int  # 0: the initial text
    text: str
    values: dict[str, float]


@dataclass(frozen=True)
class ChainView:
    generations: list[Generation]
    charts: list[Chart]
    similarity_backend: str


def chain_of(conversation: Conversation, messages: list[Message]) -> Chain:
    spec = conversation.spec
    return Chain(model=spec.llms[0].model, instruction=spec.option("instruction") or "",
                 text_id=spec.option("text_id") or "", seed=spec.seed,
                 texts=(spec.option("text") or "", *(m.content for m in messages)))


def chain_view(conversation: Conversation, messages: list[Message]) -> ChainView:
    """CPU work (the classifiers): call it off the event loop."""
    chain = chain_of(conversation, messages)
    similarity = Similarity()
    series = chain_series(chain, METRICS, similarity)
    numbers = list(range(len(chain.texts)))
    generations = [Generation(g, text, {name: values[g] for name, values in series.items()})
                   for g, text in enumerate(chain.texts)]
    charts = [line_chart(label(name), numbers, {label(name): values}) for name, values in series.items()]
    return ChainView(generations, charts, similarity.backend)
