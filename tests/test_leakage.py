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


# Replies SmolLM2-135M-Instruct (smollm2:135m) really wrote in prison runs (shortened where
# marked ...), with what the cleaning keeps. Speakers: Guard_754 / Prisoner_214 (1v1) and
# Guard_881, Guard_711 / Prisoner_894 (2v1); the experiment sets max_paragraphs: 1.
REAL = [
    # another agent's turn started inside a line
    ("Guard_754", "guard", "Day 4 begins, and Prisoner_214: (laughs) That's right! A story of a man's life.",
     "Day 4 begins, and", "turn marker"),
    # a line in the other role's voice, with an article (seen by the author)
    ("Guard_754", "guard", "Stay where you are.\nThe prisoner: \"Yes. I'm ready to leave tonight.\"",
     "Stay where you are.", "turn marker"),
    ("Guard_754", "guard", "No talking after dark.\nYou: I only asked for water.", "No talking after dark.",
     "turn marker"),
    # several paragraphs where one or two sentences were asked for
    ("Guard_711", "guard", "It seems like you're not going to be finished with the conversation, I'm sure of it. "
     "What's next?\n\nI'll tell you that it is so easy to get our attention when someone says you can't talk "
     "about something anymore.", "It seems like you're not going to be finished with the conversation, I'm sure "
     "of it. What's next?", "paragraphs"),
    ("Prisoner_214", "prisoner", "(smiling) My pleasure, that's just the way it goes. What is it?\n\nYou look at "
     "one of the guards standing near the prison's entrance.", "(smiling) My pleasure, that's just the way it goes. "
     "What is it?", "paragraphs"),
    # narration of another role on a later line of the same paragraph
    ("Prisoner_894", "prisoner", "I'm on my way, and I'll be there when you're ready.\nThe guards continue with "
     "their conversation, but soon the prisoners will begin to listen.", "I'm on my way, and I'll be there when "
     "you're ready.", "narration"),
    ("Guard_881", "guard", "Your words may be important.\n(Prisoner_894 looks up and smiles.)",
     "Your words may be important.", "narration"),
    # stage directions of the speaker's own, single lines in its own voice: kept
    ("Guard_711", "guard", "(looking at the prisoner)\nYou must talk about yourself.\n(to the prison)\nI will not "
     "take a moment of time to explain my plan.", "(looking at the prisoner)\nYou must talk about yourself.\n"
     "(to the prison)\nI will not take a moment of time to explain my plan.", None),
    # narration on the first line is the speaker's turn (cutting it would leave nothing)
    ("Prisoner_894", "prisoner", "The guards stand outside and look at you from time to time as they keep the "
     "gate open.", "The guards stand outside and look at you from time to time as they keep the gate open.", None),
    # the speaker's own role as a subject on a later line is not someone else
    ("Guard_881", "guard", "I will not move.\nThe guard in me says no.", "I will not move.\nThe guard in me says no.",
     None),
]


@pytest.mark.parametrize("speaker, role, reply, cleaned, rule", REAL)
def test_real_smollm2_replies(speaker, role, reply, cleaned, rule):
    agents = {"Guard_754", "Prisoner_214", "Guard_881", "Guard_711", "Prisoner_894"} - {speaker}
    result = clean_reply(reply, speaker, agents, ROLES, own_role=role, max_paragraphs=1)
    assert (result.text, result.rule) == (cleaned, rule)
    assert result.raw == reply


def test_paragraphs_are_kept_unless_the_experiment_limits_them():
    reply = "First paragraph.\n\nSecond paragraph.\n\nThird."
    assert clean_reply(reply, "Guard_117", OTHERS, ROLES).text == reply
    two = clean_reply(reply, "Guard_117", OTHERS, ROLES, max_paragraphs=2)
    assert two.text == "First paragraph.\n\nSecond paragraph."
    assert clean_reply(reply, "Guard_117", OTHERS, ROLES, max_paragraphs=3).rule is None


def test_a_reply_cut_by_the_token_limit_loses_its_unfinished_sentence():
    reply = "Stay back from the gate. I will not tell you again, and if you"
    result = clean_reply(reply, "Guard_117", OTHERS, ROLES, truncated=True)
    assert (result.text, result.rule) == ("Stay back from the gate.", "unfinished sentence")
    # not truncated: kept whole; truncated with no finished sentence: kept rather than emptied
    assert clean_reply(reply, "Guard_117", OTHERS, ROLES).text == reply
    assert clean_reply("I will not tell you again, and", "Guard_117", OTHERS, ROLES, truncated=True).text == \
        "I will not tell you again, and"
    assert clean_reply('He said "go." Then he', "Guard_117", OTHERS, ROLES, truncated=True).text == 'He said "go."'
