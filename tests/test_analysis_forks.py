"""Forks compared by condition after the message they part at, against hand-computed values (no I/O)."""

from __future__ import annotations

import pandas as pd
import pytest

from simulator.analysis.frames import ExperimentData
from simulator.analysis.report import SOURCE, forks_table

SCORE = "classifier.toxicity"


def data() -> ExperimentData:
    conversations = pd.DataFrame([
        {"conversation_id": "S", "goal_achieved": "Yes"},
        {"conversation_id": "F1", "goal_achieved": "No", "fork.source": "S", "fork.at": 2,
         "fork.condition": "temperature=1.5"},
        {"conversation_id": "F2", "goal_achieved": None, "fork.source": "S", "fork.at": 2,
         "fork.condition": "temperature=1.5"},
    ])
    rows = [("S", 0, "guard", 0.1), ("S", 1, "prisoner", 0.1), ("S", 2, "guard", 0.2), ("S", 3, "prisoner", 0.4),
            ("F1", 0, "guard", 0.1), ("F1", 1, "prisoner", 0.1), ("F1", 2, "guard", 0.8), ("F1", 3, "prisoner", 0.6),
            ("F2", 0, "guard", 0.1), ("F2", 1, "prisoner", 0.1), ("F2", 2, "guard", 0.6), ("F2", 3, "prisoner", 0.0)]
    messages = pd.DataFrame(rows, columns=["conversation_id", "index", "role", SCORE])
    return ExperimentData(conversations, messages, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [], [SCORE])


def test_forks_compare_only_what_came_after_the_parting_message():
    table = forks_table(data(), [SCORE], ["guard", "prisoner"]).frame
    row = {(r["condition"], r["role"]): r for r in table.to_dict("records")}
    # the copied messages 0 and 1 (0.1 each) are left out of every condition
    guard = row[("temperature=1.5", "guard")]  # 0.8 and 0.6
    assert (guard["n"], guard["mean"], guard["share_above_half"]) == (2, pytest.approx(0.7), 1.0)
    prisoner = row[("temperature=1.5", "prisoner")]  # 0.6 and 0.0
    assert (prisoner["n"], prisoner["mean"], prisoner["share_above_half"]) == (2, pytest.approx(0.3), 0.5)
    both = row[("temperature=1.5", "all")]  # 0.8, 0.6, 0.6, 0.0
    assert (both["n"], both["mean"], both["share_above_half"]) == (4, pytest.approx(0.5), 0.75)  # 3 of 4 > 0.5
    source = row[(SOURCE, "guard")]
    assert (source["n"], source["mean"], source["at"]) == (1, pytest.approx(0.2), 2)
    # goal labels: F1 No, F2 unlabelled; the source Yes
    assert (guard["conversations"], guard["goal_yes"], guard["goal_labelled"]) == (2, 0, 1)
    assert (source["conversations"], source["goal_yes"], source["goal_labelled"]) == (1, 1, 1)


def test_no_forks_is_a_note_not_an_empty_table():
    plain = data()
    plain.conversations = plain.conversations[["conversation_id", "goal_achieved"]]
    table = forks_table(plain, [SCORE], ["guard"])
    assert table.frame.empty and table.notes == ("no forks among these runs",) and not table.on_screen
