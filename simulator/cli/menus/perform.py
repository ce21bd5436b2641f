"""Perform new conversations: the questions of a batch, a preview, then the batch runner.

Asks for repeats, LLMs, messages, days (and whether to try 1..N), maximum agents per
role (and whether to try every combination), speaker method; shows how many
conversations and about how many model calls before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.live import Live
from rich.text import Text

from simulator.actions.design import parse_count
from simulator.actions.experiments import StoredExperiment
from simulator.actions.perform import preview
from simulator import protocols
from simulator.batch.plan import create_batch
from simulator.batch.runner import DEFAULT_CONCURRENCY, BatchProgress, run_batch
from simulator.cli.menus.session import Session, interruptible
from simulator.cli.menus.ui import Option
from simulator.cli.render import LiveTranscript
from simulator.core.sweep import BatchPlan
from simulator.engine.selection import METHODS
from simulator.protocols.roles import role_batch

SPEAKERS = tuple(m for m in METHODS if m != "manual")  # a batch runs unattended


@dataclass
class ShownProgress(BatchProgress):
    """The batch's counters; with a single conversation, its turns are shown as they come."""

    transcript: LiveTranscript | None = None

    def on_turn(self, turn, note) -> None:
        super().on_turn(turn, note)
        if self.transcript is not None:
            self.transcript.on_turn(turn, note)

    def on_summary(self, day, content) -> None:
        super().on_summary(day, content)
        if self.transcript is not None:
            self.transcript.on_summary(day, content)

    def __rich__(self) -> Text:
        left = self.seconds_left
        return Text(f"done {self.done}/{self.total}  running {self.running}  failed {self.failed}  "
                    f"stopped {self.stopped}  |  {self.messages_per_second:.1f} msg/s  {self.tokens:,} tokens  |  "
                    + (f"{left:,.0f}s left" if left is not None else "estimating"))


async def ask_number(session: Session, message: str, low: int, high: int, default: int) -> int | None:
    return await session.ui.value(f"{message} ({low}-{high})", lambda t: parse_count(t, "this", low, high),
                                  default=str(default))


async def ask_spec(session: Session, stored: StoredExperiment) -> BatchPlan | None:
    ui, e = session.ui, stored.experiment
    repeats = await ask_number(session, "Conversations per setting (repeats)", 1, 1000, 1)
    if repeats is None:
        return None
    llms = await ui.checkbox("LLMs to run", [(l.label(), l, True) for l in e.llms], at_least_one=True)
    if llms is None:
        return None
    messages = await ask_number(session, "Total messages per conversation", 1, 100_000, 10)
    if messages is None:
        return None
    days = await ask_number(session, "Days the messages are split over", 1, messages, 1)
    if days is None:
        return None
    every_day = False
    if days > 1:
        every_day = await ui.confirm(f"Try every number of days from 1 to {days}?", default=False)
        if every_day is None:
            return None
    max_agents: dict[str, int] = {}
    for role in e.role_names:
        n = await ask_number(session, f"Maximum {role} agents", 1, 50, 1)
        if n is None:
            return None
        max_agents[role] = n
    every_combination = False
    if any(n > 1 for n in max_agents.values()):
        every_combination = await ui.confirm("Try every combination from 1 to the maximum per role? "
                                             "(no: only the maxima)", default=False)
        if every_combination is None:
            return None
    speaker = await ui.select("Speaker selection", [Option(m, m) for m in SPEAKERS], default="round_robin")
    if speaker is None:
        return None
    variants: dict[str, str] = {}
    for name, choices in e.variants.items():
        choice = await ui.select(f"Variant {name}", [Option(c, c) for c in choices], default=choices[0])
        if choice is None:
            return None
        variants[name] = choice
    return role_batch(llms=tuple(llms), max_agents=max_agents, n_messages=messages, days=days,
                      every_day_count=every_day, every_combination=every_combination, repeats=repeats,
                      speaker_selection=speaker, variants=variants)


async def perform(session: Session, stored: StoredExperiment) -> None:
    plan = await ask_spec(session, stored)
    if plan is not None:
        await preview_and_run(session, plan, stored)


async def preview_and_run(session: Session, plan: BatchPlan, stored: StoredExperiment | None = None) -> None:
    """Show how many conversations and calls a sweep makes, then store and run it when confirmed."""
    ui = session.ui
    ok, planned_size = await ui.attempt(_preview(session, plan, stored))
    if not ok:
        return
    protocol = protocols.get(plan.base.protocol)
    per_day = " and one summary per day" if protocol.has_days else ""
    ui.say(f"{planned_size.conversations} conversation(s), about {planned_size.calls} model calls "
           f"(up to {plan.base.n_messages} messages{per_day} each)", style="bold")
    if not await ui.confirm("Start them now?", default=True):
        return
    ok, planned = await ui.attempt(create_batch(session.store, session.user, stored, plan))
    if ok:
        await run(session, planned.id, planned.cells)


async def _preview(session: Session, plan: BatchPlan, stored: StoredExperiment | None):
    return preview(session.user, plan, stored)


async def run(session: Session, batch_id, cells: int) -> None:
    ui = session.ui
    transcript = None
    if cells == 1:
        batch = await session.store.batches.get(batch_id)
        conversation = await session.store.conversations.get(batch.cells[0].conversation_id)
        transcript = LiveTranscript(session.console, conversation)
    progress = ShownProgress(total=cells, transcript=transcript)
    options = session.model_settings()
    work = run_batch(session.store, session.settings, batch_id, options, concurrency=DEFAULT_CONCURRENCY,
                     progress=progress)
    if cells == 1:
        ok, finished = await ui.attempt(interruptible(work))
    else:
        with Live(progress, console=session.console, refresh_per_second=4, transient=False):
            ok, finished = await ui.attempt(interruptible(work))
    if not ok:
        return
    completed, outcome = finished
    if not completed:
        ui.say(f"stopped; resume with `simulator batch resume {batch_id}` or from each conversation's menu",
               style="yellow")
        return
    ui.say(f"batch {batch_id} {outcome.status}: {outcome.completed} of {outcome.total} completed, "
           f"{outcome.failed} failed, {outcome.stopped} stopped; {options.meter.total_tokens:,} tokens",
           style="green" if outcome.status == "completed" else "yellow")
