"""The experiment's "Analyse" menu: score, label, annotate blind, adjudicate, and the report.

Every entry calls the same actions as `simulator score`, `simulator label` and `simulator
analyze experiment`. Annotating shows one conversation and asks for its outcome; the list
and the question show only the researcher's own earlier label, never another annotator's
(blind annotation). Adjudicating is the one place where everyone's labels are shown side
by side, because settling a disagreement needs them.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from simulator.actions import annotation
from simulator.actions.browse import transcript
from simulator.actions.experiment_runs import runs_of
from simulator.actions.experiments import StoredExperiment
from simulator.actions.scoring import score_conversations
from simulator.analysis.errors import AnalysisError
from simulator.analysis.outcomes import GOAL_LABELS, outcome
from simulator.cli.menus.session import Session
from simulator.cli.menus.ui import BACK, Option
from simulator.cli.render import print_conversation
from simulator.cli.scoring_progress import progress_bar
from simulator.core.conversation import Conversation, Status
from simulator.errors import ValidationError
from simulator.store.labels import ADJUDICATOR, OutcomeLabel

UNKNOWN_THIRD = "unknown"


async def analysis_menu(session: Session, stored: StoredExperiment) -> None:
    while True:
        choice = await session.ui.select(f"Analyse {stored.experiment.name!r}", [
            Option("Show tables, write CSV and figures", "report"),
            Option("Score messages with the offline toxicity classifier", "score"),
            Option("Label outcomes with an LLM judge", "judge"),
            Option("Annotate outcomes yourself (blind to other annotators)", "annotate"),
            Option("Adjudicate disagreements", "adjudicate"),
            Option("Back", BACK)])
        if choice is None:
            return
        await {"report": report, "score": score, "judge": judge, "annotate": annotate,
               "adjudicate": adjudicate}[choice](session, stored)


async def report(session: Session, stored: StoredExperiment) -> None:
    # pandas, statsmodels and matplotlib load here, when asked for, not when the menus open
    from simulator.actions import analysis as analysis_actions
    from simulator.cli.report_render import print_analysis

    ui = session.ui
    default = ",".join(["model", *(f"variant.{v}" for v in stored.experiment.variants)])
    by = await ui.text("Group by (comma-separated factors)", default=default)
    if by is None:
        return
    folder = await ui.text("Folder for the CSV files and figures", default=f"analysis-{stored.id}")
    if folder is None:
        return
    ok, done = await ui.attempt(analysis_actions.analyse_experiment(
        session.store, str(stored.id), by=[b.strip() for b in by.split(",") if b.strip()],
        output=Path(folder.strip()).expanduser()))
    if ok:
        print_analysis(session.console, done)


async def score(session: Session, stored: StoredExperiment) -> None:
    ok, runs = await session.ui.attempt(runs_of(session.store, str(stored.id)))
    if not ok:
        return
    from simulator.analysis.scorers import ToxicityClassifier

    with progress_bar("scoring with classifier", session.console) as progress:
        ok, summary = await session.ui.attempt(score_conversations(session.store, ToxicityClassifier(), runs[1],
                                                                   progress=progress))
    if ok:
        session.ui.say(f"classifier: scored {summary.scored} messages; {summary.skipped} were scored before")


async def judge(session: Session, stored: StoredExperiment) -> None:
    ui = session.ui
    models = list(dict.fromkeys(l.model for l in stored.experiment.llms))
    model = await ui.select("Judge model", [Option(m, m) for m in models])
    if model is None:
        return
    ok, runs = await ui.attempt(runs_of(session.store, str(stored.id)))
    if not ok:
        return
    with progress_bar("judging outcomes", session.console) as progress:
        ok, summary = await ui.attempt(annotation.label_with_judge(
            session.store, session.settings, session.model_settings(), stored, runs[1], session.user, model=model,
            progress=progress))
    if ok:
        ui.say(f"{summary.annotator}: labelled {summary.labelled} conversations ({summary.unusable} answers could "
               f"not be used); {summary.skipped} were labelled before; {summary.not_completed} runs did not complete")


def label_text(label: OutcomeLabel | None) -> str:
    if label is None or label.goal_achieved is None:
        return "not labelled"
    return label.goal_achieved + (f" (third {label.third})" if label.third else "")


def row_title(conversation: Conversation, label: str) -> str:
    spec = conversation.spec
    counts = "v".join(str(n) for n in (spec.option("agent_counts") or {}).values())
    variants = " ".join(f"{k}={v}" for k, v in (spec.option("variants") or {}).items())
    return (f"…{str(conversation.id)[-6:]}  {spec.llms[0].model[:22]:<22} {counts:<5} {variants[:24]:<24} "
            f"{conversation.status.value:<9} {label}")


async def annotate(session: Session, stored: StoredExperiment) -> None:
    ui = session.ui
    while True:
        ok, runs = await ui.attempt(runs_of(session.store, str(stored.id)))
        if not ok:
            return
        completed = [c for c in runs[1] if c.status is Status.COMPLETED]
        mine = await annotation.own_labels(session.store, [c.id for c in completed], session.user)
        options = [Option(row_title(c, "yours: " + label_text(mine.get(c.id))), c.id) for c in completed]
        chosen = await ui.select(f"Annotate as {session.user}: {len(mine)} of {len(completed)} completed runs "
                                 "labelled by you", [*options, Option("Back", BACK)])
        if chosen is None:
            return
        conversation = next(c for c in completed if c.id == chosen)
        await ask_label(session, conversation, mine.get(chosen), kind="person")


async def ask_label(session: Session, conversation: Conversation, earlier: OutcomeLabel | None, kind: str,
                    others: list[OutcomeLabel] | None = None) -> None:
    """Show the conversation (and, to an adjudicator, the `others`' labels), ask goal achieved, the third
    (with Yes) and a note; store the label."""
    ui = session.ui
    ok, shown = await ui.attempt(transcript(session.store, conversation.id))
    if not ok:
        return
    print_conversation(session.console, shown)
    for label in others or []:
        note = f" — {label.note}" if label.note else ""
        session.console.print(f"[bold]{escape(label.annotator)}[/bold] labelled: {escape(label_text(label) + note)}",
                              highlight=False)
    goal = await ui.select("Goal achieved?", [Option(g, g) for g in GOAL_LABELS],
                           default=earlier.goal_achieved if earlier else None)
    if goal is None:
        return
    third = None
    if goal == GOAL_LABELS[0]:
        third = await ui.select("In which third of the conversation?",
                                [Option("first", "1"), Option("second", "2"), Option("last", "3"),
                                 Option("cannot tell", UNKNOWN_THIRD)])
        if third is None:
            return
    note = await ui.text("Note (optional)", default=earlier.note if earlier else "")
    if note is None:
        return
    try:
        checked = outcome(goal, None if third == UNKNOWN_THIRD else third)
    except AnalysisError as exc:
        ui.error(ValidationError(exc.message))
        return
    ok, label = await ui.attempt(annotation.save_label(session.store, conversation.id, session.user, checked,
                                                       note.strip(), kind=kind))
    if ok:
        ui.say(f"saved: {label_text(label)} for conversation {conversation.id}")


async def adjudicate(session: Session, stored: StoredExperiment) -> None:
    ui = session.ui
    while True:
        ok, runs = await ui.attempt(runs_of(session.store, str(stored.id)))
        if not ok:
            return
        ok, open_ = await ui.attempt(annotation.disagreements(session.store, runs[1]))
        if not ok:
            return
        if not open_:
            ui.say("no disagreements to settle")
            return
        options = [Option(row_title(d.conversation, " / ".join(f"{l.annotator}: {label_text(l)}" for l in d.labels)),
                          n) for n, d in enumerate(open_)]
        chosen = await ui.select(f"Disagreements: {len(open_)}", [*options, Option("Back", BACK)])
        if chosen is None:
            return
        found = open_[chosen]
        await ask_label(session, found.conversation, None, kind=ADJUDICATOR, others=found.labels)
