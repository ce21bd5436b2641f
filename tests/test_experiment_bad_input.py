"""Malformed and hostile experiment files, fed to the real `simulator experiment import`.

Every case must end the same way: exit code 1, exactly one line on stderr that says
precisely what is wrong (with its path in the file), no traceback on screen or in the
log, and not a single document written to any collection.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from bson import ObjectId

from simulator.actions.experiments import validate_document
from simulator.core.experiment import parse_experiment
from simulator.core.experiment_file import decode_experiment_file
from simulator.errors import ValidationError
from simulator.store import Message, schema

# A small valid experiment in the shape of prompts/prison.yaml: a shared and a private
# section, two roles, a variant, jinja variables with a filter and a condition, and one
# of the original tool's tags.
BASE: dict[str, Any] = {
    "name": "Small yard",
    "note": "",
    "favourite": False,
    "starting_message": "Morning. {{ guard.num_word | capitalize }} {{ guard.noun }} and "
                        "{{ prisoner.num_word }} {{ prisoner.noun }} are in the yard.",
    "llms": [{"model": "ollama/sim-tiny", "temperature": 0.7, "top_k": 40, "top_p": 0.9}],
    "variants": {"goal": ["escape", "yard_time"]},
    "sections": [
        {"title": "Setting", "shared": True, "content": "A small yard watched by <GUARD_NUM> <GUARD_NOUN>."},
        {"title": "Goal"},
    ],
    "roles": [
        {"name": "guard", "prompt": "You are {{ agent.name }}, a guard.",
         "sections": [{"title": "Goal", "content": "Keep the {{ prisoner.noun }} inside."}]},
        {"name": "prisoner", "prompt": "You are {{ agent.name }}, a prisoner.",
         "sections": [{"title": "Goal", "content": "{% if variant.goal == 'escape' %}Get out."
                                                   "{% else %}Win more yard time.{% endif %}"}]},
    ],
    "summarizer": {"prompt": "Summarise the day of the {{ guard.noun }}.",
                   "sections": [{"title": "Form", "content": "Three sentences."}]},
}


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def mutated(change: Callable[[dict[str, Any]], Any], fmt: str = "yaml") -> bytes:
    """A deep copy of BASE, changed in place by `change`, as YAML or JSON bytes."""
    data = base()
    change(data)
    if fmt == "json":
        return json.dumps(data).encode()
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


def at(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a value by a dotted path: at("roles.1.sections.0.content", "")."""
    def change(data: dict[str, Any]) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target: Any = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


def drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target: Any = data
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return change


def rename_top(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data[new] = data.pop(old)
    return change


def nested_list(depth: int) -> bytes:
    return yaml.safe_dump(base(), sort_keys=False).encode() + b"deep: " + b"[" * depth + b"]" * depth + b"\n"


BASE_YAML = yaml.safe_dump(BASE, sort_keys=False).encode()
BASE_JSON = json.dumps(BASE).encode()

BILLION_LAUGHS = b"""\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""

TEMPLATE_OPERATORS_HINT = "which prompts may not use"

# (id, file name, file bytes, expected substring of the one error line)
CASES: list[tuple[str, str, bytes, str]] = [
    # --- missing required fields
    ("missing-name", "x.yaml", mutated(drop("name")), "x.yaml is invalid: name: missing"),
    ("missing-starting-message", "x.yaml", mutated(drop("starting_message")), "starting_message: missing"),
    ("missing-llms", "x.yaml", mutated(drop("llms")), "llms: missing"),
    ("missing-sections", "x.yaml", mutated(drop("sections")), "sections: missing"),
    ("missing-roles", "x.yaml", mutated(drop("roles")), "roles: missing"),
    ("missing-summarizer", "x.yaml", mutated(drop("summarizer")), "summarizer: missing"),
    ("missing-role-prompt", "x.yaml", mutated(drop("roles.0.prompt")), "roles[0].prompt: missing"),
    ("missing-section-content", "x.json", mutated(drop("roles.1.sections.0.content"), "json"),
     "roles[1].sections[0].content: missing"),
    # --- wrong types
    ("name-as-list", "x.yaml", mutated(at("name", ["Small", "yard"])), "name: expected text, got a list"),
    ("temperature-as-text", "x.yaml", mutated(at("llms.0.temperature", "hot")),
     "llms[0].temperature: expected a number, got text"),
    ("top-k-as-float", "x.json", mutated(at("llms.0.top_k", 40.5), "json"),
     "llms[0].top_k: expected a whole number, got a number"),
    ("favourite-as-yes", "x.json", mutated(at("favourite", "yes"), "json"),
     "favourite: expected true or false, got text"),
    ("roles-as-mapping", "x.yaml", mutated(at("roles", {"guard": {"prompt": "x"}})),
     "roles: expected a list, got a mapping"),
    ("name-as-yaml-date", "x.yaml", BASE_YAML.replace(b"name: Small yard", b"name: 2024-01-01"),
     "name: expected text, got date"),
    # --- out of range
    ("temperature-3", "x.yaml", mutated(at("llms.0.temperature", 3)),
     "llms[0].temperature: 3 is out of range ([0, 2])"),
    ("top-p-0", "x.yaml", mutated(at("llms.0.top_p", 0)), "llms[0].top_p: 0 is out of range ((0, 1])"),
    ("top-k-0", "x.yaml", mutated(at("llms.0.top_k", 0)), "llms[0].top_k: 0 is out of range ([1, 1000])"),
    ("temperature-nan", "x.json", BASE_JSON.replace(b'"temperature": 0.7', b'"temperature": NaN'),
     "llms[0].temperature: nan is out of range"),
    # --- empty lists and strings
    ("roles-empty-list", "x.yaml", mutated(at("roles", [])), "roles: empty"),
    ("name-empty", "x.yaml", mutated(at("name", "")), "name: empty"),
    ("section-content-empty", "x.yaml", mutated(at("roles.1.sections.0.content", "")),
     "roles[1].sections[0].content: empty"),
    # --- roles and sections that do not fit together
    ("duplicate-role-name", "x.yaml", mutated(at("roles.1.name", "guard")),
     "roles[1].name: duplicate role name 'guard'"),
    ("reserved-role-name", "x.yaml", mutated(at("roles.0.name", "agent")),
     "roles[0].name: 'agent' is reserved for template variables"),
    ("role-name-with-space", "x.yaml", mutated(at("roles.0.name", "head guard")),
     "roles[0].name: 'head guard' must be lower-case letters, digits and _"),
    ("role-name-capitals", "x.yaml", mutated(at("roles.1.name", "Prisoner")),
     "roles[1].name: 'Prisoner' must be lower-case letters, digits and _"),
    ("duplicate-section-title", "x.yaml",
     mutated(lambda d: d["sections"].append({"title": "setting", "shared": True, "content": "Again."})),
     "sections[2].title: duplicate section title 'setting'"),
    ("private-section-missing-from-role", "x.yaml", mutated(at("roles.1.sections", [])),
     "roles[1].sections: missing 'Goal' (every role fills in every private section)"),
    ("role-section-not-a-title", "x.yaml",
     mutated(lambda d: d["roles"][0]["sections"].append({"title": "Mood", "content": "Grumpy."})),
     "roles[0].sections[1].title: 'Mood' is not one of the section titles (Goal)"),
    ("content-on-private-title", "x.yaml", mutated(at("sections.1.content", "Everyone's goal.")),
     "sections[1].content: a private section's content belongs in each role's sections"),
    ("shared-section-without-content", "x.yaml", mutated(drop("sections.0.content")),
     "sections[0].content: missing (a shared section carries its content)"),
    ("unknown-top-level-field", "x.yaml", mutated(rename_top("starting_message", "starting_mesage")),
     "starting_mesage: unknown field (allowed:"),
    # --- templates
    ("unknown-variable", "x.yaml", mutated(at("starting_message", "The {{ warden.noun }} arrives.")),
     "starting_message: unknown variable 'warden'"),
    ("unknown-attribute", "x.yaml", mutated(at("roles.0.prompt", "You smell with your {{ guard.nose }}.")),
     "roles[0].prompt: unknown attribute guard.nose"),
    ("undefined-variant", "x.yaml", mutated(at("roles.1.sections.0.content", "Stay {{ variant.mood }}.")),
     "roles[1].sections[0].content: unknown attribute variant.mood (known: goal)"),
    ("legacy-tag-unknown-role", "x.yaml", mutated(at("sections.0.content", "The <WARDEN_NOUN> watches.")),
     "sections[0].content: unknown tag <WARDEN_NOUN>"),
    ("legacy-tag-unknown-word", "x.yaml", mutated(at("summarizer.prompt", "The <GUARD_SMELL> lingers.")),
     "summarizer.prompt: unknown tag <GUARD_SMELL>"),
    ("dunder-class", "x.yaml", mutated(at("roles.0.prompt", "{{ guard.__class__ }}")),
     "roles[0].prompt: unknown attribute guard.__class__"),
    ("string-class-mro", "x.yaml", mutated(at("roles.0.prompt", "{{ ''.__class__.__mro__ }}")),
     "roles[0].prompt: template reaches .__mro__ of an expression"),
    ("cycler-init-globals", "x.yaml", mutated(at("starting_message", "{{ cycler.__init__.__globals__ }}")),
     "starting_message: template reaches .__globals__ of an expression"),
    ("for-loop", "x.yaml", mutated(at("roles.0.prompt", "{% for r in roles %}x{% endfor %}")),
     "roles[0].prompt: template uses a for loop, " + TEMPLATE_OPERATORS_HINT),
    ("power-bomb", "x.yaml", mutated(at("roles.0.prompt", "{{ 9**9**9 }}")),
     "roles[0].prompt: template uses the operator '**'"),
    ("jinja-syntax-error", "x.yaml", mutated(at("roles.1.prompt", "{% if prisoner.plural %}unclosed")),
     "roles[1].prompt: template syntax error on line 1"),
    # --- model specs
    ("model-with-space", "x.yaml", mutated(at("llms.0.model", "gpt 4")),
     "llms[0].model: model spec 'gpt 4': expected endpoint/name"),
    # --- files that are not experiments at all
    ("huge-file", "x.yaml", BASE_YAML + b"# " + b"x" * 1_000_001 + b"\n", "x.yaml: file too large ("),
    ("not-utf8", "x.yaml", BASE_YAML.replace(b"Small yard", "Petit préau".encode("latin-1")),
     "x.yaml: not UTF-8 text (byte 0xe9 at offset"),
    ("empty-file", "x.yaml", b"", "x.yaml: file is empty"),
    ("invalid-yaml", "x.yaml", b"name: [unclosed\nroles: {\n", "x.yaml: not valid YAML (line 2, column 6"),
    ("invalid-json", "x.json", BASE_JSON[:-1], "x.json: not valid JSON (line 1, column"),
    ("yaml-python-tag", "x.yaml", BASE_YAML + b"payload: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
     "could not determine a constructor for the tag"),
    ("yaml-billion-laughs", "x.yaml", BILLION_LAUGHS,
     "x.yaml: line 1: YAML anchors (&a) are not allowed in experiment files"),
    ("yaml-alias", "x.yaml", BASE_YAML.replace(b"name: Small yard", b"name: *a"),
     "YAML aliases (*a) are not allowed in experiment files"),
    ("nested-50", "x.yaml", nested_list(50), "x.yaml: nested more than 12 levels deep"),
    ("nested-5000-yaml", "x.yaml", nested_list(5000), "x.yaml: nested too deeply"),
    ("nested-5000-json", "x.json", b'{"note": ' + b"[" * 5000 + b"]" * 5000 + b"}", "x.json: nested too deeply"),
    ("top-level-list", "x.yaml", yaml.safe_dump([BASE]).encode(), "x.yaml is invalid: expected a mapping, got a list"),
    ("nul-in-content", "x.json", mutated(at("summarizer.sections.0.content", "Three\x00sentences."), "json"),
     "summarizer.sections[0].content: contains a NUL character"),
    ("name-too-long", "x.yaml", mutated(at("name", "n" * 121)), "name: too long (121 characters, at most 120)"),
]

# More of the same kinds, checked in process only (decode and validate exactly as
# `experiment import` does), to keep the number of slow subprocesses down.
EXTRA_CASES: list[tuple[str, str, bytes, str]] = [
    ("missing-model", "x.yaml", mutated(drop("llms.0.model")), "llms[0].model: missing"),
    ("temperature-as-bool", "x.yaml", mutated(at("llms.0.temperature", True)),
     "llms[0].temperature: expected a number, got true/false"),
    ("too-many-roles", "x.yaml",
     mutated(at("roles", [{"name": f"r{i}", "prompt": "p", "sections": [{"title": "Goal", "content": "c"}]}
                          for i in range(13)])),
     "roles: too many items (13, at most 12)"),
    ("llms-empty-list", "x.yaml", mutated(at("llms", [])), "llms: empty"),
    ("max-paragraphs-zero", "x.yaml", mutated(at("max_paragraphs", 0)), "max_paragraphs: 0 is out of range ([1, 50])"),
    ("max-paragraphs-text", "x.yaml", mutated(at("max_paragraphs", "one")),
     "max_paragraphs: expected a whole number, got text"),
    ("starting-message-blank", "x.yaml", mutated(at("starting_message", "   \n ")), "starting_message: empty"),
    ("summarizer-prompt-empty", "x.json", mutated(at("summarizer.prompt", ""), "json"), "summarizer.prompt: empty"),
    ("role-fills-a-shared-section", "x.yaml",
     mutated(lambda d: d["roles"][0]["sections"].append({"title": "Setting", "content": "Mine."})),
     "roles[0].sections[1].title: 'Setting' is a shared section"),
    ("unknown-llm-field", "x.json", mutated(at("llms.0.temprature", 0.5), "json"),
     "llms[0].temprature: unknown field"),
    ("undefined-variant-name", "x.yaml", mutated(at("variants", {"Goal": ["escape"]})),
     "variants.Goal: variant names are lower-case letters, digits and _"),
    ("duplicate-variant-choices", "x.yaml", mutated(at("variants.goal", ["escape", "escape"])),
     "variants.goal: duplicate choices"),
    ("agent-outside-agent-prompts", "x.yaml", mutated(at("summarizer.prompt", "Watch {{ agent.name }}.")),
     "summarizer.prompt: unknown variable 'agent'"),
    ("dunder-globals", "x.yaml", mutated(at("roles.0.prompt", "{{ agent.__globals__ }}")),
     "roles[0].prompt: unknown attribute agent.__globals__"),
    ("call-global", "x.yaml", mutated(at("roles.0.prompt", "{{ range(10) }}")),
     "roles[0].prompt: template calls something other than ROLE.verb('...')"),
    ("set-assignment", "x.yaml", mutated(at("roles.0.prompt", "{% set x = guard.noun %}{{ x }}")),
     "roles[0].prompt: template uses an assignment"),
    ("attr-filter", "x.yaml", mutated(at("roles.0.prompt", "{{ guard|attr('__class__') }}")),
     "roles[0].prompt: template uses the filter 'attr'"),
    ("model-upper-provider", "x.yaml", mutated(at("llms.0.model", "OLLAMA/sim-tiny")),
     "llms[0].model: model spec 'OLLAMA/sim-tiny': endpoint names are lower case"),
    ("utf16", "x.yaml", BASE_YAML.decode().encode("utf-16"), "x.yaml: not UTF-8 text (byte 0xff at offset 0)"),
    ("whitespace-file", "x.json", b"  \n\t\n", "x.json: file is empty"),
    ("yaml-merge-key", "x.yaml", BASE_YAML + b"extra: &x {a: 1}\nmore:\n  <<: *x\n",
     "YAML anchors (&x) are not allowed"),
    ("top-level-null", "x.yaml", b"---\n", "x.yaml is invalid: expected a mapping, got nothing"),
    ("raw-nul-byte-in-yaml", "x.yaml", BASE_YAML.replace(b"Three sentences.", b"Three\x00sentences."),
     "x.yaml: not valid YAML (unacceptable character #x0000"),
    ("content-too-long", "x.yaml", mutated(at("roles.0.prompt", "x" * 20_001)),
     "roles[0].prompt: too long (20001 characters, at most 20000)"),
]

# Hostile files that once ended in a traceback (found by this suite, now fixed): template
# code that Python refuses at render time, nesting deep enough to exhaust the parser or the
# compiler, numbers too long to read, text BSON cannot encode, and keys given twice.
HOSTILE_CASES: list[tuple[str, str, bytes, str]] = [
    ("compare-number-with-text", "x.yaml",
     mutated(at("roles.0.prompt", "{% if guard.num > 'many' %}Crowded.{% endif %}")),
     "roles[0].prompt: template failed to render: TypeError"),
    ("deeply-parenthesised-template", "x.yaml",
     mutated(at("roles.0.prompt", "{{ " + "(" * 2000 + "guard.plural" + ")" * 2000 + " }}")),
     "roles[0].prompt: template nested more than the parser allows"),
    ("long-and-chain-template", "x.yaml",
     mutated(at("roles.0.prompt", "{{ " + " and ".join(["guard.plural"] * 600) + " }}")),
     "roles[0].prompt: template nested more than 40 levels deep"),
    ("medium-and-chain-template", "x.yaml",
     mutated(at("roles.0.prompt", "{{ " + " and ".join(["guard.plural"] * 200) + " }}")),
     "roles[0].prompt: template nested more than 40 levels deep"),
    ("5000-digit-integer-json", "x.json",
     BASE_JSON.replace(b'"top_k": 40', b'"top_k": ' + b"9" * 5000), "x.json: not a usable JSON file (a number with"),
    ("5000-digit-integer-yaml", "x.yaml",
     BASE_YAML.replace(b"top_k: 40", b"top_k: " + b"9" * 5000), "x.yaml: not a usable YAML file (a number with"),
    ("huge-hex-integer-yaml", "x.yaml",
     BASE_YAML.replace(b"top_k: 40", b"top_k: 0x" + b"f" * 5000), "llms[0].top_k: a huge number is out of range"),
    ("lone-surrogate-in-json", "x.json",
     BASE_JSON.replace(b"Three sentences.", b"Three \\ud800 sentences."),
     "summarizer.sections[0].content: contains an invalid character"),
    ("duplicate-key-yaml", "x.yaml", b"name: A\nname: B\n" + BASE_YAML, "the field 'name' appears twice"),
    ("duplicate-key-json", "x.json", b'{"name": "A", ' + BASE_JSON.lstrip()[1:], "the field 'name' appears twice"),
]


def simulator(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=120, **kwargs)


async def collection_counts(store) -> dict[str, int]:
    return {name: await store.db[name].count_documents({}) for name in schema.COLLECTIONS}


async def seed(store) -> None:
    """Something in every collection the import could touch, so 'unchanged' means something."""
    experiment_id = await store.experiments.insert({**parse_experiment(base()).to_document(), "creator": "carol",
                                                    "duplicated_from": None})
    conversation_id = await store.conversations.create({"experiment_id": experiment_id, "creator": "carol"})
    await store.messages.append(Message(conversation_id, 0, 0, "guard", "Guard_1", "Good morning."))
    await store.summaries.save(conversation_id, 0, "A calm day.")
    await store.db[schema.BATCHES].insert_one({"experiment_id": experiment_id})
    await store.db[schema.MODEL_CALLS].insert_one({"key": "seed"})


def assert_rejected(result: subprocess.CompletedProcess, expected: str, log_dir: Path) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert "imported" not in result.stdout
    log = log_dir / "simulator.log"
    if log.exists():
        assert "Traceback" not in log.read_text(errors="replace")


async def run_import_case(store, cli_env, tmp_path, name: str, raw: bytes, expected: str) -> None:
    await seed(store)
    before = await collection_counts(store)
    experiments_before = await store.db[schema.EXPERIMENTS].find().to_list()
    path = tmp_path / name
    path.write_bytes(raw)
    result = simulator("experiment", "import", str(path), env=cli_env)
    assert_rejected(result, expected, tmp_path / "logs")
    assert await collection_counts(store) == before
    assert await store.db[schema.EXPERIMENTS].find().to_list() == experiments_before


@pytest.mark.parametrize("name, raw, expected", [pytest.param(n, r, e, id=i) for i, n, r, e in CASES])
async def test_bad_file_is_rejected_with_one_precise_line(store, cli_env, tmp_path, name, raw, expected):
    await run_import_case(store, cli_env, tmp_path, name, raw, expected)


@pytest.mark.parametrize("name, raw, expected", [pytest.param(n, r, e, id=i) for i, n, r, e in HOSTILE_CASES])
async def test_hostile_file_is_rejected_with_one_precise_line(store, cli_env, tmp_path, name, raw, expected):
    await run_import_case(store, cli_env, tmp_path, name, raw, expected)


async def test_base_experiment_imports(store, cli_env, tmp_path):
    """The control: the unmutated base is valid, so every failure above is the mutation's."""
    for name, raw in (("base.yaml", BASE_YAML), ("base.json", BASE_JSON)):
        (tmp_path / name).write_bytes(raw)
    result = simulator("experiment", "import", str(tmp_path / "base.yaml"), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "imported 'Small yard' as " in result.stdout
    assert await store.experiments.list() != []
    assert parse_experiment(json.loads(BASE_JSON)).name == "Small yard"


@pytest.mark.parametrize("name, raw, expected",
                         [pytest.param(n, r, e, id=i) for i, n, r, e in CASES + EXTRA_CASES + HOSTILE_CASES])
def test_bad_file_is_rejected_in_process(name, raw, expected):
    """The same decoding and validation `experiment import` runs, without the subprocess."""
    with pytest.raises(ValidationError) as caught:
        validate_document(decode_experiment_file(raw, name), name)
    assert expected in caught.value.one_line()


def test_the_table_is_big_and_ids_are_unique():
    ids = [case[0] for case in CASES + EXTRA_CASES] + [case[0] for case in HOSTILE_CASES]
    assert len(CASES) >= 35
    assert len(ids) == len(set(ids))


def test_every_case_really_differs_from_the_base():
    assert all(raw not in (BASE_YAML, BASE_JSON) for _, _, raw, _ in CASES + EXTRA_CASES)


# --- pure: every problem at once -----------------------------------------------------

def test_parse_reports_several_problems_in_one_message():
    data = base()
    del data["name"]
    data["llms"][0]["temperature"] = 3
    data["llms"][0]["top_k"] = 2.5
    data["roles"][1]["name"] = "guard"
    data["roles"][0]["sections"][0]["content"] = ""
    data["sections"][1]["content"] = "not here"
    data["colour"] = "blue"
    with pytest.raises(ValidationError) as caught:
        parse_experiment(data, what="team.yaml")
    message = caught.value.message
    assert message.startswith("team.yaml is invalid: ")
    expected = [
        "colour: unknown field",
        "name: missing",
        "llms[0].temperature: 3 is out of range ([0, 2])",
        "llms[0].top_k: expected a whole number, got a number",
        "sections[1].content: a private section's content belongs in each role's sections",
        "roles[0].sections[0].content: empty",
        "roles[1].name: duplicate role name 'guard'",
    ]
    for problem in expected:
        assert problem in message, (problem, message)
    assert message.count("; ") == len(expected) - 1
    assert "\n" not in message


def test_parse_reports_every_bad_template_at_once():
    data = base()
    data["starting_message"] = "{{ warden.noun }}"
    data["roles"][0]["prompt"] = "{{ guard.nose }}"
    data["summarizer"]["prompt"] = "<GUARD_SMELL>"
    with pytest.raises(ValidationError) as caught:
        parse_experiment(data)
    message = caught.value.message
    assert "starting_message: unknown variable 'warden'" in message
    assert "roles[0].prompt: unknown attribute guard.nose" in message
    assert "summarizer.prompt: unknown tag <GUARD_SMELL>" in message


def test_more_than_eight_problems_are_counted_not_listed():
    data = base()
    for i in range(12):
        data[f"typo{i:02d}"] = 1
    with pytest.raises(ValidationError) as caught:
        parse_experiment(data)
    message = caught.value.message
    assert message.endswith("; and 4 more")
    assert "typo07: unknown field" in message and "typo08" not in message


def test_seed_document_is_a_real_experiment():
    """seed() above must store something parse_experiment accepts back, or the counts prove little."""
    document = {**parse_experiment(base()).to_document(), "_id": ObjectId(), "creator": "carol"}
    assert parse_experiment(document).creator == "carol"
