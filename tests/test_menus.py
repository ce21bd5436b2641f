"""The menus driven through prompt_toolkit's pipe input, against the real FerretDB and sim-tiny.

Each test is a researcher at the keyboard: the keys go through the real questionary
prompts, the actions write to the real database, and what the screen showed is checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from menu_driver import BACKSPACE, CTRL_D, CTRL_U, DOWN, ESC, drive, menu_env
from simulator.protocols.roles import role_spec
from simulator.actions.experiments import import_file
from simulator.store import schema

ROOT = Path(__file__).resolve().parent.parent
PRISON = ROOT / "prompts" / "prison.yaml"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
START = "LLM Interaction Simulator"


def plain(screen: str) -> str:
    return ANSI.sub("", screen)


@pytest.fixture(autouse=True)
def log_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_LOG_DIR", str(tmp_path / "logs"))


async def test_create_an_experiment_from_scratch(store, settings, tmp_path):
    steps = [
        (START, "create\r"),
        ("Name of the experiment", "Yard test\r"),
        ("LLM 1: model spec", "\r"),  # the default shown: the best local text model, not the bigram one
        # "0.0." is refused and stays on screen; one backspace fixes it: nothing typed is lost
        ("LLM 1: temperature", CTRL_U + "0.0.\r" + BACKSPACE + "\r"),
        ("LLM 1: top_k", "1001\r" + BACKSPACE + "\r"),
        ("LLM 1: top_p", "\r"),
        ("LLM 1: max tokens", "0\r" + BACKSPACE + "120\r"),
        ("Add another LLM?", "n"),
        ("Longest turn in paragraphs", "2\r"),
        ("Section titles", "Setting, Goal\r"),
        ("Which sections are shared", " \r"),  # Setting shared, Goal private
        ("Roles", "guard, Prisoner\r" + CTRL_U + "guard, prisoner\r"),
        ("Starting message", "{{ guard.num_word | capitalize }} {{ guard.noun }} and {{ prisoner.noun }} meet."
                             + CTRL_D),
        ("Summarizer section titles", "Style\r"),
        ("Mark as favourite?", "y"),
        ("Note", "made in the menus\r"),
        ("Shared section 'Setting'", "The yard holds {{ agents.num_word }} people." + CTRL_D),
        ("guard: prompt", "You are {{ agent.name }}, a guard." + CTRL_D),
        ("guard: section 'Goal'", "Keep the {{ prisoner.noun }} calm." + CTRL_D),
        ("prisoner: prompt", "You are {{ agent.name }}, a prisoner." + CTRL_D),
        ("prisoner: section 'Goal'", "Ask the {{ warden.noun }}." + CTRL_D + CTRL_U
                                     + "Ask the {{ guard.noun }} for yard time." + CTRL_D),
        ("Summarizer: prompt", "Summarise the day of {{ guard.num_word }} {{ guard.noun }}." + CTRL_D),
        ("Summarizer: section 'Style'", "Two sentences." + CTRL_D),
        ("Experiment 'Yard test'", ESC),
        (START, "exit\r"),
    ]
    run = await drive(menu_env(settings), steps, tmp_path / ".env")
    run.script.check()
    docs = await store.db[schema.EXPERIMENTS].find().to_list()
    assert len(docs) == 1
    doc = docs[0]
    assert doc["name"] == "Yard test" and doc["creator"] == "alice" and doc["favourite"] is True
    assert doc["note"] == "made in the menus"
    assert doc["llms"] == [{"model": "ollama/smollm2:135m", "temperature": 0.0, "top_k": 100, "max_tokens": 120}]
    assert doc["max_paragraphs"] == 2
    assert doc["sections"] == [{"title": "Setting", "shared": True,
                                "content": "The yard holds {{ agents.num_word }} people."},
                               {"title": "Goal", "shared": False}]
    assert [r["name"] for r in doc["roles"]] == ["guard", "prisoner"]
    assert doc["roles"][1]["sections"] == [{"title": "Goal", "content": "Ask the {{ guard.noun }} for yard time."}]
    assert doc["summarizer"]["sections"] == [{"title": "Style", "content": "Two sentences."}]
    screen = plain(run.screen)
    assert "created 'Yard test'" in screen
    # the variables a template may use were shown before the starting message was asked for
    first = screen.index("Template variables for the starting message")
    assert first < screen.index("Template variables for agents' prompts")
    assert "{{ guard.noun }}" in screen[first:screen.index("Template variables for agents' prompts")]
    # the template variables were listed, with what they give for 1 and 2 agents
    assert "{{ guard.verb('watch') }}" in screen and "watches / watch" in screen and "{{ prisoner.noun }}" in screen
    assert "Traceback" not in screen


async def test_a_problem_found_on_saving_is_fixed_with_the_typed_text_kept(store, settings, tmp_path):
    await import_file(store, "alice", ROOT / "tests" / "data" / "small_prison.yaml")
    steps = [
        (START, "create\r"),
        ("Name of the experiment", "Small prison\r"),  # taken: found on saving
        ("LLM 1: model spec", "\r"), ("LLM 1: temperature", "\r"), ("LLM 1: top_k", "\r"), ("LLM 1: top_p", "\r"),
        ("LLM 1: max tokens", "\r"), ("Add another LLM?", "n"), ("Longest turn in paragraphs", "\r"),
        ("Section titles", "\r"),
        ("Roles", "guard\r"),
        ("Starting message", "The {{ warden.noun }} arrives." + CTRL_D  # refused at once: guard is the role
         + BACKSPACE * len("warden.noun }} arrives.") + "guard.noun }} arrives." + CTRL_D),
        ("Summarizer section titles", "\r"),
        ("Mark as favourite?", "\r"),
        ("Note", "\r"),
        ("guard: prompt", "You guard the gate." + CTRL_D),
        ("Summarizer: prompt", "Summarise the day." + CTRL_D),
        ("Fix which part?", "\r"),  # the part the problem is in is offered first
        ("Name of the experiment", BACKSPACE * len("prison") + "yard\r"),
        ("Experiment 'Small yard'", ESC),
        (START, "exit\r"),
    ]
    run = await drive(menu_env(settings), steps, tmp_path / ".env")
    run.script.check()
    screen = plain(run.screen)
    assert "error: the new experiment is invalid: name: an experiment named 'Small prison' exists" in screen
    assert await store.db[schema.EXPERIMENTS].count_documents({"name": "Small prison"}) == 1
    doc = await store.db[schema.EXPERIMENTS].find_one({"name": "Small yard"})
    assert doc["starting_message"] == "The {{ guard.noun }} arrives."
    assert doc["sections"] == [] and doc["roles"][0]["prompt"] == "You guard the gate."


async def test_duplicate_as_another_user_changes_only_the_chosen_parts(store, settings, tmp_path, prison_on_sim_tiny):
    original = await import_file(store, "alice", prison_on_sim_tiny)
    before = await store.experiments.get(original.id)
    steps = [
        (START, "select\r"),
        ("Experiments: 1", "prison\r"),
        ("Experiment 'Prison yard'", "duplicate\r"),
        ("Name of the copy", CTRL_U + "Bob's yard\r"),
        # parts: LLMs (2nd) and Favourite and note (6th)
        ("Which parts do you want to change?", DOWN + " " + DOWN * 4 + " \r"),
        ("LLM 1: model spec", "\r"),
        ("LLM 1: temperature", CTRL_U + "1.2\r"),
        ("LLM 1: top_k", "\r"),
        ("LLM 1: top_p", "\r"),
        ("LLM 1: max tokens", "\r"),
        ("Add another LLM?", "n"),
        ("Longest turn in paragraphs", "\r"),
        ("Mark as favourite?", "y"),
        ("Note", CTRL_U + "bob's variant\r"),
        ("Experiment \"Bob's yard\"", ESC),  # the menu moved on to the copy
        ("Experiments: 2", "prison yard\r"),
        ("Experiment 'Prison yard'", "favourite\r"),
        ("Favourite and note", "mark\r"),  # refused: alice's
        ("Experiment 'Prison yard'", "delete\r"),  # refused before any confirmation
        ("Experiment 'Prison yard'", ESC),
        ("Experiments: 2", ESC),
        (START, "exit\r"),
    ]
    run = await drive(menu_env(settings, SIM_USER="bob"), steps, tmp_path / ".env")
    run.script.check()
    screen = plain(run.screen)
    assert f"only alice may change experiment {original.id}; you are bob" in screen
    assert f"only alice may delete experiment {original.id}; you are bob" in screen
    copies = await store.db[schema.EXPERIMENTS].find({"creator": "bob"}).to_list()
    assert len(copies) == 1
    copy = copies[0]
    assert copy["name"] == "Bob's yard" and copy["duplicated_from"] == str(original.id)
    assert copy["llms"] == [{"model": "ollama/sim-tiny", "temperature": 1.2, "top_k": 40, "top_p": 0.9}]
    assert copy["favourite"] is True and copy["note"] == "bob's variant"
    untouched = ("starting_message", "sections", "roles", "summarizer", "variants")
    assert {k: copy[k] for k in untouched} == {k: before[k] for k in untouched}
    assert await store.experiments.get(original.id) == before


async def test_perform_a_1v1_conversation_view_it_and_delete_it(store, settings, tmp_path, prison_on_sim_tiny):
    await import_file(store, "alice", prison_on_sim_tiny)
    perform = [
        (START, "select\r"),
        ("Experiments: 1", "prison\r"),
        ("Experiment 'Prison yard'", "perform\r"),
        ("Conversations per setting", "\r"),
        ("LLMs to run", "\r"),
        ("Total messages per conversation", CTRL_U + "4\r"),
        ("Days the messages are split over", "\r"),
        ("Maximum guard agents", "\r"),
        ("Maximum prisoner agents", "\r"),
        ("Speaker selection", "\r"),
        ("Variant goal", "\r"),
        ("Start them now?", "y"),
        ("Experiment 'Prison yard'", "conversations of\r"),
        ("Conversations of 'Prison yard': 1", "completed\r"),
        ("Conversation ", "view\r"),
        ("Conversation ", ESC),
        ("Conversations of 'Prison yard'", ESC),
        ("Experiment 'Prison yard'", ESC),
        ("Experiments: 1", ESC),
        (START, "exit\r"),
    ]
    run = await drive(menu_env(settings), perform, tmp_path / ".env")
    run.script.check()
    docs = await store.conversations.find()
    assert len(docs) == 1
    doc = docs[0]
    cid = doc.id
    assert doc.status.value == "completed" and doc.spec.option("agent_counts") == {"guard": 1, "prisoner": 1}
    assert doc.creator == "alice" and doc.spec.batch_id is not None and doc.spec.llms[0].model == "ollama/sim-tiny"
    assert [m.index for m in await store.messages.list(cid)] == [0, 1, 2, 3]
    screen = plain(run.screen)
    assert "1 conversation(s), about 5 model calls" in screen
    assert "1 of 1 completed" in screen
    guard, prisoner = (a.name for a in doc.agents)
    # the view: header, starting message, day rule, turns coloured by role (guard cyan, prisoner magenta)
    assert "Starting message" in screen and "Day 1" in screen and "Summary of day 1" in screen
    assert re.search(rf"\x1b\[1;36m{guard}\x1b\[0m: ", run.screen)
    assert re.search(rf"\x1b\[1;35m{prisoner}\x1b\[0m: ", run.screen)

    refused = [
        (START, "browse\r"),
        ("All conversations: 1", "completed\r"),
        ("Conversation ", "favourite\r"),
        ("Conversation ", "delete\r"),
        ("Conversation ", ESC),
        ("All conversations", ESC),
        (START, "exit\r"),
    ]
    run = await drive(menu_env(settings, SIM_USER="bob"), refused, tmp_path / ".env")
    run.script.check()
    screen = plain(run.screen)
    assert f"only alice may change conversation {cid}; you are bob" in screen
    assert f"only alice may delete conversation {cid}; you are bob" in screen
    assert await store.messages.count(cid) == 4

    deleted = [
        (START, "browse\r"),
        ("All conversations: 1", "completed\r"),
        ("Conversation ", "mark as favourite\r"),
        ("★ Conversation ", "delete\r"),
        ("Delete conversation", "y"),
        ("All conversations: 0", ESC),
        (START, "exit\r"),
    ]
    run = await drive(menu_env(settings), deleted, tmp_path / ".env")
    run.script.check()
    assert f"deleted conversation {cid}: 4 messages, 1 summaries" in plain(run.screen)
    assert await store.conversations.find() == []
    assert await store.messages.count(cid) == 0 and await store.summaries.list(cid) == []


async def test_perform_a_grid_shows_its_size_and_runs_every_cell(store, settings, tmp_path):
    small = await import_file(store, "alice", ROOT / "tests" / "data" / "small_prison.yaml")
    steps = [
        (START, "select\r"),
        ("Experiments: 1", "small\r"),
        ("Experiment 'Small prison'", "perform\r"),
        ("Conversations per setting", "\r"),
        ("LLMs to run", DOWN + " \r"),  # only the first of the two LLM settings
        ("Total messages per conversation", CTRL_U + "4\r"),
        ("Days the messages are split over", CTRL_U + "5\r" + BACKSPACE + "2\r"),  # 5 > 4 messages: refused
        ("Try every number of days from 1 to 2?", "y"),
        ("Maximum guard agents", CTRL_U + "2\r"),
        ("Maximum prisoner agents", "\r"),
        ("Try every combination", "y"),
        ("Speaker selection", "random\r"),
        ("Start them now?", "y"),
        ("Experiment 'Small prison'", ESC),
        ("Experiments: 1", ESC),
        (START, "exit\r"),
    ]
    run = await drive(menu_env(settings), steps, tmp_path / ".env")
    run.script.check()
    screen = plain(run.screen)
    # 2 day settings x 2 agent combinations; calls: 2 x (4 + 1) + 2 x (4 + 2)
    assert "4 conversation(s), about 22 model calls" in screen
    assert "4 of 4 completed" in screen
    docs = await store.conversations.find(experiment_id=small.id)
    assert sorted((d.spec.option("days"), d.spec.option("agent_counts")["guard"]) for d in docs) == [
        (1, 1), (1, 2), (2, 1), (2, 2)]
    assert {d.spec.llms[0].temperature for d in docs} == {0.8}
    assert {d.spec.option("speaker_selection") for d in docs} == {"random"}
    assert {d.status.value for d in docs} == {"completed"}


async def test_esc_and_ctrl_c_go_back_one_level_and_keep_the_draft(store, settings, tmp_path):
    steps = [
        (START, "create\r"),
        ("Name of the experiment", "Half done\r"),
        ("LLM 1: model spec", "\x03"),  # Ctrl-C: back to the start menu, the draft kept
        (START, "create\r"),
        ("An unfinished experiment 'Half done' is kept", "continue\r"),
        ("Name of the experiment", "\r"),
        ("LLM 1: model spec", ESC),
        (START, "browse\r"),
        ("All conversations: 0", ESC),
        (START, ESC),  # Esc at the top leaves
    ]
    run = await drive(menu_env(settings), steps, tmp_path / ".env")
    run.script.check()
    assert run.code == 0
    assert plain(run.screen).count("the draft is kept") == 2
    assert await store.db[schema.EXPERIMENTS].count_documents({}) == 0


async def test_an_unexpected_error_is_one_line_and_the_menu_goes_on(store, settings, tmp_path, monkeypatch):
    from simulator.cli.menus import experiments

    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(experiments.actions, "list_experiments", broken)
    steps = [(START, "select\r"), (START, "exit\r")]
    run = await drive(menu_env(settings), steps, tmp_path / ".env")
    run.script.check()
    screen = plain(run.screen)
    assert "unexpected error: RuntimeError (details in" in screen and "Traceback" not in screen
    log = (tmp_path / "logs" / "simulator.log").read_text()
    assert "Traceback" in log and "RuntimeError: boom" in log


async def test_login_asks_then_remembers_in_dotenv_and_logs_in_by_itself_next_time(store, settings, tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("# my own settings\nOPENAI_API_KEY=sk-keep-me\nDB_NAME=old_name\n")
    dotenv.chmod(0o644)
    # SIM_MONGO_PORT=1: no local server answers, so the menus ask.
    base = menu_env(settings, MONGODB_URI=None, DB_NAME=None, DB_TIMEOUT_MS="1000", SIM_MONGO_PORT="1")
    steps = [
        ("MongoDB server", CTRL_U + "mongodb://127.0.0.1:1\r"),
        ("User (blank for none)", "\r"),
        ("MongoDB server", CTRL_U + settings.mongodb_uri + "\r"),  # not reachable: asked again
        ("User (blank for none)", "ana\r"),
        ("Password for ana", "Sup3rSecret\r"),
        ("MongoDB server", "\r"),  # refused: asked again, the server typed before offered
        ("User (blank for none)", CTRL_U + "\r"),
        ("Database", settings.db_name + "\r"),  # the server's own list, filtered by typing
        ("Remember this login", "y"),
        (START, "exit\r"),
    ]
    run = await drive(base, steps, dotenv)
    run.script.check()
    screen = plain(run.screen)
    assert "error: cannot reach MongoDB at 127.0.0.1:1: connection refused" in screen
    host = settings.mongodb_uri.split("://")[1].strip("/")
    assert f"error: MongoDB at {host} refused the credentials" in screen
    log = (tmp_path / "logs" / "simulator.log").read_text()
    assert "Sup3rSecret" not in screen + log + dotenv.read_text()
    assert f"database {settings.db_name}" in screen and "saved in" in screen
    text = dotenv.read_text()
    assert text.startswith("# my own settings\nOPENAI_API_KEY=sk-keep-me\n")
    assert f"DB_NAME={settings.db_name}\n" in text and f"MONGODB_URI={settings.mongodb_uri}\n" in text
    assert dotenv.stat().st_mode & 0o777 == 0o600

    from dotenv import dotenv_values

    again = await drive({**base, **dotenv_values(dotenv)}, [(START, "exit\r")], dotenv)
    again.script.check()
    assert f"logged in to {host}" in plain(again.screen)


async def test_with_nothing_configured_the_local_server_is_used_without_asking(store, settings, tmp_path):
    port = settings.mongodb_uri.rsplit(":", 1)[1].strip("/")
    env = menu_env(settings, MONGODB_URI=None, SIM_MONGO_PORT=port)
    run = await drive(env, [(START, "exit\r")], tmp_path / ".env")
    run.script.check()
    screen = plain(run.screen)
    assert f"nothing configured: using the local database at 127.0.0.1:{port} (FerretDB" in screen
    assert f"database {settings.db_name}, as alice" in screen
    assert not any("MongoDB server" in asked for asked in run.script.asked)


async def test_lists_filter_by_creator_favourite_and_model_then_resume_export_and_prompts(store, settings, tmp_path):
    from simulator.actions import conversations as conv
    from simulator.core.experiment import LLMSetting

    prison = await import_file(store, "alice", PRISON)
    for user, model in (("alice", "ollama/sim-tiny"), ("bob", "ollama/sim-tiny"), ("bob", "ollama/other-model")):
        await conv.create(store, user, prison, role_spec(
            llm=LLMSetting(model=model, temperature=0), agent_counts={"guard": 1, "prisoner": 1}, n_messages=3,
            seed=5))
    export = tmp_path / "out.jsonl"
    exported_experiment = tmp_path / "prison.json"
    steps = [
        (START, "browse\r"),
        ("All conversations: 3 (all)", "filter\r"),
        ("Filter the list", "creator\r"),
        ("Creator", "bob\r"),
        ("Filter the list", "model\r"),
        ("Model", "other\r"),
        ("Filter the list", "done\r"),
        ("All conversations: 1 (by bob, model ollama/other-model)", "filter\r"),
        ("Filter the list", "only mine\r"),
        ("Filter the list", "favourites\r"),
        ("Filter the list", ESC),  # Esc keeps the filters chosen so far
        ("All conversations: 0 (by alice, favourites, model ollama/other-model)", "filter\r"),
        ("Filter the list", "clear\r"),
        ("Filter the list", "only mine\r"),
        ("Filter the list", "done\r"),
        ("All conversations: 1 (by alice)", "pending\r"),
        ("Conversation ", "resume\r"),  # a real run on sim-tiny, shown as it goes
        ("Conversation ", "export\r"),
        ("Format", "jsonl\r"),
        ("File to write", CTRL_U + str(export) + "\r"),
        ("Conversation ", ESC),
        ("All conversations: 1 (by alice)", ESC),
        (START, "select\r"),
        ("Experiments: 1", "prison\r"),
        ("Experiment 'Prison yard'", "rendered\r"),
        ("How many guard agents?", CTRL_U + "2\r"),
        ("How many prisoner agents?", "\r"),
        ("Variant goal", "yard_time\r"),
        ("Experiment 'Prison yard'", "export\r"),
        ("File to write", CTRL_U + str(tmp_path / "prison.txt") + "\r" + CTRL_U + str(exported_experiment) + "\r"),
        ("Experiment 'Prison yard'", ESC),
        ("Experiments: 1", ESC),
        (START, "exit\r"),
    ]
    run = await drive(menu_env(settings), steps, tmp_path / ".env")
    run.script.check()
    screen = plain(run.screen)
    mine = await store.conversations.find(creator="alice")
    assert mine[0].status.value == "completed" and await store.messages.count(mine[0].id) == 3
    assert "resuming at message 0 of 3 (was pending)" in screen and "completed: message budget reached (3)" in screen
    lines = export.read_text().splitlines()
    assert len(lines) == 4 and f"wrote 3 messages to {export}" in screen  # 3 messages and 1 summary
    assert "two guards" in screen and "one more hour of yard time" in screen  # the rendered prompts
    assert screen.count("Guard_") >= 2 and "Summarizer" in screen
    assert exported_experiment.is_file() and not (tmp_path / "prison.txt").exists()
    assert '"name": "Prison yard"' in exported_experiment.read_text()


async def test_settings_switch_to_another_database(store, settings, tmp_path):
    other = settings.db_name + "_b"
    steps = [
        (START, "settings\r"),
        ("Settings", "change database\r"),
        ("Database", "type another\r"),
        ("Database name", CTRL_U + "no/slashes\r" + CTRL_U + other + "\r"),
        ("Settings", ESC),
        (START, "exit\r"),
    ]
    try:
        run = await drive(menu_env(settings), steps, tmp_path / ".env")
        run.script.check()
        screen = plain(run.screen)
        assert f"now using database {other} as alice" in screen
        assert f"LLM Interaction Simulator — alice on {other}" in run.script.asked[-1]
        assert "you are" in screen and "alice" in screen and "FerretDB" in screen
    finally:
        await store.client.drop_database(other)
