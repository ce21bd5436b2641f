"""Perform new conversations: preview a batch (how many conversations, about how many calls).

The menus gather the same settings `simulator batch` takes and run them through the
batch runner; the preview checks them completely before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.actions.conversations import ConversationRequest, build_document
from simulator.actions.experiments import StoredExperiment
from simulator.batch.plan import BatchSpec
from simulator.core.grid import estimated_calls
from simulator.core.prompts import check_counts


@dataclass(frozen=True)
class Preview:
    conversations: int
    calls: int


def preview(user: str, stored: StoredExperiment, spec: BatchSpec) -> Preview:
    """Raises ValidationError for anything the batch would refuse; nothing is stored."""
    check_counts(stored.experiment, dict(spec.max_agents))
    cells = spec.cells()
    for llm in spec.llms:  # the largest cell of each LLM setting: counts, days, variants and every prompt
        build_document(user, stored, ConversationRequest(
            llm=llm, agent_counts=dict(spec.max_agents), n_messages=spec.n_messages, days=spec.days,
            speaker_selection=spec.speaker_selection, view=spec.view, variants=spec.variants, seed=1))
    return Preview(len(cells), estimated_calls(cells, spec.n_messages))
