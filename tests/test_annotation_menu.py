"""Annotating in the menus, driven through prompt_toolkit's pipe input against the real FerretDB
and Ollama: a person labels two conversations blind to another annotator's labels, an
adjudicator settles the disagreement, the conversation view shows each message's scores,
and the report is written from the Analyse menu."""

from __future__ import annotations

import re

import pytest

from analysis_fixtures import prison_batch
from menu_driver import CTRL_U, DOWN, ESC, drive, menu_env
from simulator.actions.annotation import save_label
from simulator.actions.experiments import import_file
from simulator.actions.scoring import score_conversations
from simulator.analysis.outcomes import Outcome
from simulator.analysis.scorers import ToxicityClassifier
from simulator.store.labels import ADJUDICATOR, PERSON

ANSI = re.compile(r"\x1b\[[0-9;]*m")
START = "LLM Interaction Simulator"
OPEN = [(START, "select\r"), ("Experiments: 1", "prison\r"), ("Experiment 'Prison yard'", "analyse\r")]
CLOSE = [("Analyse 'Prison yard'", ESC), ("Experiment 'Prison yard'", ESC), ("Experiments: 1", ESC),
         (START, "exit\r")]


def plain(screen: str) -> str:
    return ANSI.sub("", screen)


@pytest.fixture(autouse=True)
def log_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_LOG_DIR", str(tmp_path / "logs"))


@pytest.fixture
async def yard(store, settings, prison_on_sim_tiny):
    experiment = await import_file(store, "alice", prison_on_sim_tiny)
    batch_id, outcome = await prison_batch(store, settings, experiment, experiment.experiment.llms[0], n_messages=4,
                                           repeats=1)
    assert outcome.completed == 4
    return experiment, sorted(await store.conversations.in_batch(batch_id), key=lambda c: c.id)


async def test_a_person_labels_two_conversations_blind_then_adjudicates(store, settings, tmp_path, yard):
    _, runs = yard
    first, second = runs[0], runs[1]
    await save_label(store, first.id, "bob", Outcome("NotTried"), note="bob-was-here")  # another annotator
    annotate = [
        *OPEN,
        ("Analyse 'Prison yard'", "annotate\r"),
        ("Annotate as alice: 0 of 4 completed runs labelled by you", "\r"),  # the first conversation
        ("Goal achieved?", "\r"),  # Yes
        ("In which third of the conversation?", DOWN + "\r"),  # second
        ("Note (optional)", "gate opened\r"),
        ("Annotate as alice: 1 of 4", DOWN + "\r"),  # the second conversation
        ("Goal achieved?", DOWN + DOWN + "\r"),  # NotTried
        ("Note (optional)", "\r"),
        ("Annotate as alice: 2 of 4", ESC),
        ("Analyse 'Prison yard'", "adjudicate\r"),
        ("Disagreements: 1", "\r"),
        ("Goal achieved?", "\r"),  # the adjudicator settles on Yes
        ("In which third of the conversation?", DOWN + DOWN + DOWN + "\r"),  # cannot tell
        ("Note (optional)", "settled\r"),
        *CLOSE,  # none left to settle: the menu says so and goes back to Analyse
    ]
    run = await drive(menu_env(settings), annotate, tmp_path / ".env")
    run.script.check()
    screen = plain(run.screen)
    last_blind = f"saved: NotTried for conversation {second.id}"
    blind, adjudication = screen.split(last_blind, 1)  # what alice saw while annotating, and afterwards
    assert "bob" not in blind and "NotTried" not in blind  # bob's label (NotTried) was never shown to her
    assert first.prepared.starting_message.split()[0] in blind  # the transcript was shown
    assert f"saved: Yes (third 2) for conversation {first.id}" in screen
    assert "bob labelled: NotTried — bob-was-here" in adjudication and "alice labelled: Yes (third 2)" in adjudication
    assert f"saved: Yes for conversation {first.id}" in adjudication and "no disagreements to settle" in adjudication

    labels = {(l.conversation_id, l.annotator, l.kind): l for l in await store.labels.for_conversations(
        [first.id, second.id])}
    alice = labels[(first.id, "alice", PERSON)]
    assert (alice.goal_achieved, alice.third, alice.note) == ("Yes", 2, "gate opened")
    assert labels[(second.id, "alice", PERSON)].goal_achieved == "NotTried"
    settled = labels[(first.id, "alice", ADJUDICATOR)]
    assert (settled.goal_achieved, settled.third, settled.note) == ("Yes", None, "settled")
    assert len(labels) == 4  # bob's, alice's two, one adjudication


async def test_the_view_shows_scores_and_the_report_is_written_from_the_menu(store, settings, tmp_path, yard):
    _, runs = yard
    await score_conversations(store, ToxicityClassifier(), runs)
    folder = tmp_path / "report"
    steps = [
        *OPEN,
        ("Analyse 'Prison yard'", "show tables\r"),
        ("Group by", "\r"),  # model,variant.goal
        ("Folder for the CSV files and figures", CTRL_U + str(folder) + "\r"),
        ("Analyse 'Prison yard'", ESC),
        ("Experiment 'Prison yard'", "conversations of\r"),
        ("Conversations of 'Prison yard': 4", DOWN + "\r"),  # the first line is the filter
        ("Conversation ", "view\r"),
        ("Conversation ", ESC),
        ("Conversations of 'Prison yard'", ESC),
        ("Experiment 'Prison yard'", ESC), ("Experiments: 1", ESC), (START, "exit\r"),
    ]
    run = await drive(menu_env(settings), steps, tmp_path / ".env")
    run.script.check()
    screen = plain(run.screen)
    assert "Scores per role" in screen and "Persuasion" in screen and "wrote 13 CSV files and" in screen  # alpha and forks tables too
    assert (folder / "persuasion.csv").is_file() and (folder / "toxicity_over_conversation.png").is_file()
    assert re.search(r"\[classifier\.toxicity 0\.\d\d\]", screen), "no scores beside the messages"
