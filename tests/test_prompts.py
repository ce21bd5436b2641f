"""Prompt rendering with exact wording for 1v1, 2v1, 1v2 and 2v2."""

from pathlib import Path

import pytest

from simulator.actions.experiments import rendered_prompts, validate_document
from simulator.core.agents import Agent, name_agents
from simulator.core.experiment_file import decode_experiment_file
from simulator.core.prompts import agent_prompt, check_counts, summarizer_prompt
from simulator.core.templates import TemplateProblem, Vocabulary, check_template, translate_legacy_tags
from simulator.core.wording import RoleWording, third_person
from simulator.errors import ValidationError

ROOT = Path(__file__).resolve().parent.parent


def load(name: str):
    path = ROOT / "prompts" / name
    return validate_document(decode_experiment_file(path.read_bytes(), name), name)


WORDING = (
    "{{ guard.num_word | capitalize }} {{ guard.noun }} {{ guard.verb('watch') }} "
    "{{ prisoner.num_word }} {{ prisoner.noun }}; the {{ guard.poss }} keys, the {{ prisoner.poss }} cells. "
    "{{ prisoner.they | capitalize }} {{ prisoner.verb('be') }} waiting for {{ prisoner.their }} lunch; "
    "<GUARD_NUM> <GUARD_NOUN> <GUARD_VERB_HAVE> <PRISONER_POSS> list of <AGENTS_NUM> names in <ROLES_NUM> roles."
)

EXPECTED = {
    (1, 1): "One guard watches one prisoner; the guard's keys, the prisoner's cells. He or she is waiting for "
            "his or her lunch; 1 guard has prisoner's list of 2 names in 2 roles.",
    (2, 1): "Two guards watch one prisoner; the guards' keys, the prisoner's cells. He or she is waiting for "
            "his or her lunch; 2 guards have prisoner's list of 3 names in 2 roles.",
    (1, 2): "One guard watches two prisoners; the guard's keys, the prisoners' cells. They are waiting for "
            "their lunch; 1 guard has prisoners' list of 3 names in 2 roles.",
    (2, 2): "Two guards watch two prisoners; the guards' keys, the prisoners' cells. They are waiting for "
            "their lunch; 2 guards have prisoners' list of 4 names in 2 roles.",
}


@pytest.fixture
def experiment():
    return validate_document({
        "name": "wording", "starting_message": WORDING,
        "llms": [{"model": "ollama/sim-tiny"}],
        "sections": [{"title": "Rules", "shared": True, "content": "Everyone obeys {{ guard.noun }}."},
                     {"title": "Goal"}],
        "roles": [{"name": "guard", "prompt": "I am {{ agent.name }}.",
                   "sections": [{"title": "Goal", "content": "Watch {{ prisoner.them }}."}]},
                  {"name": "prisoner", "prompt": "I am {{ agent.name }}, one of {{ role.num_word }}.",
                   "sections": [{"title": "Goal", "content": "Leave."}]}],
        "summarizer": {"prompt": "Summarise what the {{ guard.noun }} said.",
                       "sections": [{"title": "Length", "content": "Short."}]},
    }, "wording")


@pytest.mark.parametrize("guards, prisoners", list(EXPECTED))
def test_wording_agrees_with_counts(experiment, guards, prisoners):
    shown = dict(rendered_prompts(experiment, {"guard": guards, "prisoner": prisoners}))
    assert shown["Starting message"] == EXPECTED[(guards, prisoners)]
    assert shown["Summarizer"] == ("Summarise what the " + ("guard" if guards == 1 else "guards") +
                                   " said.\n\n## Length\nShort.")


@pytest.mark.parametrize("guards, prisoners", list(EXPECTED))
def test_agent_prompt_order_and_wording(experiment, guards, prisoners):
    counts = {"guard": guards, "prisoner": prisoners}
    guard_prompt = agent_prompt(experiment, Agent("Guard_101", "guard"), counts, {})
    them = "him or her" if prisoners == 1 else "them"
    noun = "guard" if guards == 1 else "guards"
    assert guard_prompt == f"I am Guard_101.\n\n## Rules\nEveryone obeys {noun}.\n\n## Goal\nWatch {them}."
    prisoner_prompt = agent_prompt(experiment, Agent("Prisoner_202", "prisoner"), counts, {})
    number = {1: "one", 2: "two"}[prisoners]
    assert prisoner_prompt == (f"I am Prisoner_202, one of {number}.\n\n## Rules\nEveryone obeys {noun}.\n\n"
                               f"## Goal\nLeave.")


def test_prison_experiment_wording_2v1_with_yard_time_variant():
    experiment = load("prison.yaml")
    counts = {"guard": 2, "prisoner": 1}
    prompt = agent_prompt(experiment, Agent("Prisoner_204", "prisoner"), counts, {"goal": "yard_time"})
    assert prompt.startswith("You are Prisoner_204, a prisoner at Blackmoor prison.\n"
                             "You are alone in the yard with the guards.")
    assert "two guards and one prisoner." in prompt
    assert "Convince the guards that they can trust you." in prompt
    assert "Get out." not in prompt
    escape = agent_prompt(experiment, Agent("Prisoner_204", "prisoner"), counts, {"goal": "escape"})
    assert "find out when the guards change shifts." in escape
    summary = summarizer_prompt(experiment, {"guard": 1, "prisoner": 2}, {"goal": "escape"})
    assert "one guard watched two prisoners." in summary
    assert "whether they got any closer to their goal (escape)" in summary


def test_every_shipped_experiment_renders_for_1v1_to_2v2():
    for name in ("prison.yaml", "negotiation.yaml"):
        experiment = load(name)
        first, second = experiment.role_names
        for a in (1, 2):
            for b in (1, 2):
                shown = rendered_prompts(experiment, {first: a, second: b})
                assert len(shown) == a + b + 2 and all(text.strip() for _, text in shown)


def test_agents_are_named_by_role_and_unique():
    import random

    agents = name_agents({"guard": 30, "prisoner": 30}, random.Random(1))
    assert len({a.name for a in agents}) == 60
    assert all(a.name.startswith(a.role.capitalize() + "_") and len(a.name.split("_")[1]) == 3 for a in agents)


def test_counts_must_cover_the_roles(experiment):
    with pytest.raises(ValidationError, match="miss roles: prisoner"):
        check_counts(experiment, {"guard": 1})
    with pytest.raises(ValidationError, match="unknown roles: warden"):
        check_counts(experiment, {"guard": 1, "prisoner": 1, "warden": 1})
    with pytest.raises(ValidationError, match="1 to 50"):
        check_counts(experiment, {"guard": 0, "prisoner": 1})


@pytest.mark.parametrize("base, third", [("watch", "watches"), ("try", "tries"), ("say", "says"), ("be", "is"),
                                         ("have", "has"), ("do", "does"), ("go", "goes"), ("fix", "fixes"),
                                         ("pass", "passes"), ("play", "plays")])
def test_third_person_verbs(base, third):
    assert third_person(base) == third
    assert RoleWording(count=1, name="guard").verb(base) == third
    assert RoleWording(count=3, name="guard").verb(base) == ("are" if base == "be" else base)


def test_legacy_tags_translate_and_unknown_ones_are_named():
    assert translate_legacy_tags("<GUARD_VERB_WATCH> <AGENTS_NUM>", ["guard"]) == \
        "{{ guard.verb('watch') }} {{ agents.num }}"
    with pytest.raises(TemplateProblem, match="<WARDEN_NOUN>"):
        translate_legacy_tags("<WARDEN_NOUN>", ["guard"])


@pytest.mark.parametrize("template, problem", [
    ("{{ ''.__class__ }}", "only name.attribute"),
    ("{{ guard.__class__ }}", "unknown attribute guard.__class__"),
    ("{{ guard.verb.__globals__ }}", "only name.attribute"),
    ("{% for x in range(10) %}x{% endfor %}", "a for loop"),
    ("{{ 9 ** 9 }}", "'**'"),
    ("{{ lipsum() }}", "calls something other than"),
    ("{{ guard.verb(name) }}", "one quoted word"),
    ("{{ guard.noun | attr('x') }}", "filter 'attr'"),
    ("{% set x = 1 %}", "an assignment"),
    ("{{ warden }}", "unknown variable 'warden'"),
])
def test_hostile_or_unknown_template_code_is_refused(template, problem):
    with pytest.raises(TemplateProblem, match=problem.replace("(", r"\(").replace("*", r"\*")):
        check_template(template, Vocabulary(("guard",), {}))
