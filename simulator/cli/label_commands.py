"""`simulator label judge EXPERIMENT ...` and `simulator label import FILE ...`: outcome labels.

`judge` asks an LLM judge, with the experiment's outcome rubric, whether the persuading role
achieved its goal in each completed run not yet labelled by that judge. `import` reads a
CSV (conversation_id, goal_achieved, third, note, annotator) from people who labelled
elsewhere; it is checked completely before anything is stored. Labelling in the menus
(Experiment > Analyse) is the blind, one-conversation-at-a-time way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.cli.score_commands import add_judge_options, model_settings
from simulator.cli.scoring_progress import progress_bar
from simulator.config import Settings
from simulator.store import connect


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("label", help="outcome labels of conversations: by an LLM judge, or imported")
    sub = parser.add_subparsers(dest="how", metavar="HOW", required=True)
    p = sub.add_parser("judge", help="label every completed run with an LLM judge and the experiment's rubric")
    p.add_argument("experiment", help="experiment id or name")
    p.add_argument("--batch", help="only this batch's conversations")
    p.add_argument("--again", action="store_true", help="label runs this judge already labelled, too")
    add_judge_options(p)
    p.set_defaults(handler=judge_command)

    p = sub.add_parser("import", help="labels from a CSV file: conversation_id, goal_achieved (Yes, No, NotTried), "
                                      "third (1-3, with Yes), note, annotator")
    p.add_argument("file", type=Path)
    p.add_argument("--annotator", help="whose labels these are (default: the file's annotator column)")
    p.add_argument("--adjudication", action="store_true", help="these are adjudications: they settle disagreements")
    p.set_defaults(handler=import_command)


async def judge_command(args, settings: Settings) -> int:
    from simulator.actions.annotation import label_with_judge
    from simulator.actions.experiment_runs import runs_of

    async with await connect(settings) as store:
        experiment, conversations = await runs_of(store, args.experiment, args.batch)
        with progress_bar("judging outcomes") as progress:
            summary = await label_with_judge(store, settings, model_settings(args), experiment, conversations,
                                             store.user, model=args.model, rubric=args.rubric, again=args.again,
                                             progress=progress)
    print(f"{summary.annotator}: labelled {summary.labelled} conversations ({summary.unusable} answers could not be "
          f"used); {summary.skipped} were labelled before; {summary.not_completed} runs did not complete and are "
          f"counted apart")
    return 0


async def import_command(args, settings: Settings) -> int:
    from simulator.actions.annotation import import_labels

    async with await connect(settings) as store:
        n = await import_labels(store, args.file, args.annotator, adjudication=args.adjudication)
    print(f"imported {n} labels from {args.file}")
    return 0
