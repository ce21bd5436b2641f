"""Role-leakage cleaning on a table of real-looking leaks."""

import pytest

from simulator.engine.leakage import clean_reply

OTHERS = ["Prisoner_204", "Guard_555"]
ROLES = ["guard", "prisoner"]

CASES = [
    # (reply of Guard_117, cleaned text, prefix stripped, cut)
    ("Stay back.", "Stay back.", False, False),
    ("Guard_117: Stay back.", "Stay back.", True, False),
    ("Guard: Stay back.", "Stay back.", True, False),
    ("guard 117: Stay back.", "Stay back.", True, False),
    ("**Guard_117**: Stay back.", "Stay back.", True, False),
    ("*Guard_117:* Hands up.", "Hands up.", True, False),
    ("[Guard_117]: Hands up.", "Hands up.", True, False),
    ("Guard_117: Guard_117: Twice.", "Twice.", True, False),
    ("Stay back.\nPrisoner_204: Please let me out.", "Stay back.", False, True),
    ("Stay back.\n\nPrisoner: Why?", "Stay back.", False, True),
    ("Stay back.\n**Prisoner_204**: Please!", "Stay back.", False, True),
    ("Stay back.\n**Prisoner**: Please!", "Stay back.", False, True),
    ("Stay back.\nGuard_555: I agree.", "Stay back.", False, True),
    ("Stay back.\nGuard_117: And another thing.", "Stay back.", False, True),
    ("Stay back. Prisoner_204: but why?", "Stay back.", False, True),
    ("Guard_117: Stay back.\nPrisoner_204: No.\nGuard_117: Yes.", "Stay back.", True, True),
    ("Stay back.\nUser: hello", "Stay back.", False, True),
    ("Stay back.\nAssistant: hello", "Stay back.", False, True),
    ("Stay back.\n### user:\nhello", "Stay back.", False, True),
    ("Stay back.\n  > Prisoner 204: hm", "Stay back.", False, True),
    ("Prisoner_204: I want out.", "", False, True),
    ("Prisoner: I want out.", "", False, True),
    ("Guard_555: My turn now.", "", False, True),
    ("The guard said: no. We wait.", "The guard said: no. We wait.", False, False),
    ("I watch the prisoner: he waits.", "I watch the prisoner: he waits.", False, False),
    ("Listen, prisoner. Time: noon.", "Listen, prisoner. Time: noon.", False, False),
    ("Two lines.\nStill mine: yes.", "Two lines.\nStill mine: yes.", False, False),
]


@pytest.mark.parametrize("reply, cleaned, stripped, cut", CASES)
def test_leak_table(reply, cleaned, stripped, cut):
    result = clean_reply(reply, "Guard_117", OTHERS, ROLES)
    assert (result.text, result.stripped_prefix, result.cut) == (cleaned, stripped, cut)
    assert result.raw == reply


def test_names_with_regex_characters_are_escaped():
    result = clean_reply("Hi.\nA+B_1: x", "C_2", ["A+B_1"], ["a+b", "c"])
    assert result.text == "Hi."
