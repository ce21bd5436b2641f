"""`simulator score EXPERIMENT [--batch B] [--scorer classifier|moderation|judge|local] ...`.

Scores every message of the experiment's runs not yet scored by that scorer, with a
progress bar; `--again` scores them all again (replacing, never doubling). The default
scorer, the offline classifier, needs no network and no key.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.analysis.scorers import KINDS
from simulator.cli.scoring_progress import progress_bar
from simulator.config import Settings
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.retry import RetryPolicy
from simulator.store import connect


def add_judge_options(parser: argparse.ArgumentParser) -> None:
    """Flags of every command that calls a model: which one, how hard to try, record or replay."""
    parser.add_argument("--model", help="model spec of the judge (default: the experiment's first LLM)")
    parser.add_argument("--rubric", type=Path, help="rubric file, YAML or plain text (given by the experiment's "
                                                    "creator, it is stored with the experiment)")
    parser.add_argument("--attempts", type=int, default=4, help="tries per call (default 4)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per try (default 120)")
    parser.add_argument("--concurrency", type=int, default=4, help="calls at once per endpoint (default 4)")
    parser.add_argument("--replay", action="store_true", help="answer from recorded calls only, no server")
    parser.add_argument("--no-record", action="store_true", help="do not record calls for later replay")


def model_settings(args: argparse.Namespace) -> ModelSettings:
    mode = CallMode.REPLAY if args.replay else CallMode.LIVE if args.no_record else CallMode.RECORD
    return ModelSettings(retry=RetryPolicy(attempts=args.attempts, timeout=args.timeout),
                         concurrency=args.concurrency, mode=mode)


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("score", help="score every message of an experiment's runs (toxicity, moderation, "
                                          "an LLM judge)")
    p.add_argument("experiment", help="experiment id or name")
    p.add_argument("--batch", help="only this batch's conversations")
    p.add_argument("--scorer", choices=KINDS, default="classifier",
                   help="classifier (offline, default), moderation (OpenAI, needs OPENAI_API_KEY), judge (an LLM "
                        "with a rubric), local (a transformers model folder, needs the local-classifier extra)")
    p.add_argument("--name", help="store the scores under this scorer name (judge, local; default judge / local)")
    p.add_argument("--path", type=Path, help="local: the model folder")
    p.add_argument("--again", action="store_true", help="score messages this scorer already scored, too")
    add_judge_options(p)
    p.set_defaults(handler=score_command)


async def score_command(args, settings: Settings) -> int:
    from simulator.actions.experiment_runs import runs_of
    from simulator.actions.scoring import ScorerChoice, build_scorer, score_conversations

    choice = ScorerChoice(kind=args.scorer, model=args.model, rubric=args.rubric, name=args.name, path=args.path)
    async with await connect(settings) as store:
        experiment, conversations = await runs_of(store, args.experiment, args.batch)
        scorer = await build_scorer(store, settings, model_settings(args), experiment, choice, store.user)
        with progress_bar(f"scoring with {scorer.name}") as progress:
            summary = await score_conversations(store, scorer, conversations, again=args.again, progress=progress)
    failed = f", {summary.failed} could not be scored" if summary.failed else ""
    print(f"{summary.scorer}: scored {summary.scored} messages of {summary.conversations} conversations{failed}; "
          f"{summary.skipped} were scored before")
    return 0
