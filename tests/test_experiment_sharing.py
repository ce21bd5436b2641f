"""Sharing experiments between two researchers, through the real `simulator` command.

Anyone may list, show, export and duplicate; only the creator may favourite, annotate
or delete. Delete takes the experiment's conversations, messages and summaries with it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from bson import ObjectId

from simulator.actions import experiments as actions
from simulator.store import Message, schema

ROOT = Path(__file__).resolve().parent.parent
PRISON = ROOT / "prompts" / "prison.yaml"
NEGOTIATION = ROOT / "prompts" / "negotiation.yaml"
PROVENANCE = ("_id", "creator", "created_at", "duplicated_from")


def simulator(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=120, **kwargs)


def as_user(cli_env: dict[str, str], user: str) -> dict[str, str]:
    # A wide terminal, so rich tables never cut ids or names short.
    return {**cli_env, "SIM_USER": user, "COLUMNS": "200"}


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    return result.stdout


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def import_as(cli_env, user: str, path: Path) -> ObjectId:
    out = ok(simulator("experiment", "import", str(path), env=as_user(cli_env, user)))
    match = re.search(r"imported '.+' as ([0-9a-f]{24})$", out.strip().splitlines()[-1])
    assert match, out
    return ObjectId(match.group(1))


def without_provenance(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in PROVENANCE}


async def all_experiments(store) -> list[dict[str, Any]]:
    return await store.db[schema.EXPERIMENTS].find().sort("_id", 1).to_list()


# --- reading and copying is for everyone ------------------------------------------------

async def test_bob_lists_shows_and_duplicates_alices_experiment(store, cli_env):
    alice_id = import_as(cli_env, "alice", PRISON)
    original = await store.experiments.get(alice_id)
    assert original["creator"] == "alice" and original["duplicated_from"] is None

    listed = ok(simulator("experiment", "list", env=as_user(cli_env, "bob")))
    assert str(alice_id) in listed and "Prison yard" in listed and "alice" in listed
    assert listed.strip().endswith("1 experiment(s)")
    mine = ok(simulator("experiment", "list", "--mine", env=as_user(cli_env, "bob")))
    assert str(alice_id) not in mine and mine.strip().endswith("0 experiment(s)")

    shown = ok(simulator("experiment", "show", str(alice_id), env=as_user(cli_env, "bob")))
    header, _, body = shown.partition("\n")
    assert header == f"# {alice_id} by alice"
    assert yaml.safe_load(body)["name"] == "Prison yard"
    by_name = ok(simulator("experiment", "show", "Prison yard", env=as_user(cli_env, "bob")))
    assert by_name == shown

    out = ok(simulator("experiment", "duplicate", str(alice_id), env=as_user(cli_env, "bob")))
    match = re.fullmatch(r"duplicated as 'Prison yard \(copy\)' \(([0-9a-f]{24})\), owned by bob", out.strip())
    assert match, out
    copy_id = ObjectId(match.group(1))
    assert copy_id != alice_id
    copy = await store.experiments.get(copy_id)
    assert copy["creator"] == "bob"
    assert copy["duplicated_from"] == str(alice_id)
    assert copy["name"] == "Prison yard (copy)"
    assert {**without_provenance(copy), "name": "Prison yard"} == without_provenance(original)
    assert await store.experiments.get(alice_id) == original

    shown_copy = ok(simulator("experiment", "show", str(copy_id), env=as_user(cli_env, "alice")))
    assert shown_copy.splitlines()[0] == f"# {copy_id} by bob, duplicated from {alice_id}"


# --- changing is for the creator --------------------------------------------------------

@pytest.mark.parametrize("command, verb", [
    (("favourite",), "change"),
    (("favourite", "--off"), "change"),
    (("note", "Bob was here."), "change"),
    (("delete", "--yes"), "delete"),
])
async def test_bob_may_not_change_or_delete_alices_experiment(store, cli_env, command, verb):
    alice_id = import_as(cli_env, "alice", PRISON)
    before = await all_experiments(store)
    result = simulator("experiment", command[0], str(alice_id), *command[1:], env=as_user(cli_env, "bob"))
    line = one_error_line(result)
    assert f"only alice may {verb} experiment {alice_id}; you are bob" in line
    assert "duplicate it to get your own copy" in line
    assert "deleted" not in result.stdout and "favourite" not in result.stdout
    assert await all_experiments(store) == before


async def test_alice_may_favourite_and_annotate_her_experiment(store, cli_env):
    alice_id = import_as(cli_env, "alice", PRISON)
    alice = as_user(cli_env, "alice")
    before = await store.experiments.get(alice_id)
    assert before["favourite"] is False

    assert "favourite on" in ok(simulator("experiment", "favourite", str(alice_id), env=alice))
    assert (await store.experiments.get(alice_id))["favourite"] is True
    favourites = ok(simulator("experiment", "list", "--favourites", env=as_user(cli_env, "bob")))
    assert str(alice_id) in favourites and favourites.strip().endswith("1 experiment(s)")

    assert "note saved" in ok(simulator("experiment", "note", str(alice_id), "Ran it twice; the guards held.",
                                        env=alice))
    after = await store.experiments.get(alice_id)
    assert after["note"] == "Ran it twice; the guards held."
    assert after["favourite"] is True
    assert {k: v for k, v in after.items() if k not in ("note", "favourite")} == \
           {k: v for k, v in before.items() if k not in ("note", "favourite")}

    ok(simulator("experiment", "favourite", str(alice_id), "--off", env=alice))
    assert (await store.experiments.get(alice_id))["favourite"] is False


async def test_bob_may_delete_his_own_copy_but_not_the_original(store, cli_env):
    alice_id = import_as(cli_env, "alice", PRISON)
    bob = as_user(cli_env, "bob")
    out = ok(simulator("experiment", "duplicate", str(alice_id), "--name", "Bob's yard", env=bob))
    copy_id = ObjectId(re.search(r"\(([0-9a-f]{24})\)", out).group(1))
    assert (await store.experiments.get(copy_id))["creator"] == "bob"

    ok(simulator("experiment", "note", str(copy_id), "mine", env=bob))
    assert (await store.experiments.get(copy_id))["note"] == "mine"

    out = ok(simulator("experiment", "delete", str(copy_id), "--yes", env=bob))
    assert out.strip() == "deleted \"Bob's yard\": 0 conversations, 0 messages, 0 summaries"
    assert await store.experiments.find_one({"_id": copy_id}) is None
    assert [d["_id"] for d in await all_experiments(store)] == [alice_id]

    line = one_error_line(simulator("experiment", "delete", str(alice_id), "--yes", env=bob))
    assert "only alice may delete" in line


# --- delete ------------------------------------------------------------------------------

async def add_conversation(store, experiment_id: ObjectId, messages: int, label: str) -> ObjectId:
    conversation_id = await store.conversations.create({"experiment_id": experiment_id, "creator": "alice"})
    for index in range(messages):
        assert await store.messages.append(Message(conversation_id, index, 0, "guard", "Guard_1", f"{label} {index}"))
    await store.summaries.save(conversation_id, 0, f"{label}: a quiet day.")
    return conversation_id


async def counts(store) -> dict[str, int]:
    return {name: await store.db[name].count_documents({}) for name in schema.COLLECTIONS}


async def test_delete_without_yes_and_no_terminal_refuses(store, cli_env):
    alice_id = import_as(cli_env, "alice", PRISON)
    await add_conversation(store, alice_id, 2, "prison")
    before_counts, before = await counts(store), await all_experiments(store)

    result = simulator("experiment", "delete", str(alice_id), env=as_user(cli_env, "alice"),
                       stdin=subprocess.DEVNULL)
    line = one_error_line(result)
    assert "refusing to delete without confirmation and no terminal to ask on" in line
    assert "add --yes" in line
    assert "deleted" not in result.stdout
    assert await counts(store) == before_counts
    assert await all_experiments(store) == before


async def test_delete_removes_the_experiment_with_its_conversations_messages_and_summaries(store, cli_env):
    alice_id = import_as(cli_env, "alice", PRISON)
    other = await actions.import_file(store, "alice", NEGOTIATION)
    doomed = [await add_conversation(store, alice_id, 2, "prison"),
              await add_conversation(store, alice_id, 3, "prison again")]
    kept = await add_conversation(store, other.id, 2, "market")

    out = ok(simulator("experiment", "delete", str(alice_id), "--yes", env=as_user(cli_env, "alice"),
                       stdin=subprocess.DEVNULL))
    assert out.strip() == "deleted 'Prison yard': 2 conversations, 5 messages, 2 summaries"

    assert await store.experiments.find_one({"_id": alice_id}) is None
    for conversation_id in doomed:
        assert await store.db[schema.CONVERSATIONS].find_one({"_id": conversation_id}) is None
        assert await store.messages.count(conversation_id) == 0
        assert await store.summaries.list(conversation_id) == []
    assert await store.db[schema.CONVERSATIONS].count_documents({"experiment_id": alice_id}) == 0

    assert (await store.experiments.get(other.id))["name"] == "Market negotiation"
    assert (await store.db[schema.CONVERSATIONS].find_one({"_id": kept}))["experiment_id"] == other.id
    assert [m.content for m in await store.messages.list(kept)] == ["market 0", "market 1"]
    assert [s["content"] for s in await store.summaries.list(kept)] == ["market: a quiet day."]
    remaining = {schema.EXPERIMENTS: 1, schema.CONVERSATIONS: 1, schema.MESSAGES: 2, schema.SUMMARIES: 1}
    assert await counts(store) == {name: remaining.get(name, 0) for name in schema.COLLECTIONS}

    gone = one_error_line(simulator("experiment", "show", str(alice_id), env=as_user(cli_env, "alice")))
    assert f"no experiment '{alice_id}'" in gone


# --- export and import again ---------------------------------------------------------------

@pytest.mark.parametrize("source", [PRISON, NEGOTIATION], ids=["prison", "negotiation"])
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
async def test_export_then_import_gives_the_same_experiment(store, cli_env, tmp_path, source, suffix):
    alice = as_user(cli_env, "alice")
    original_id = import_as(cli_env, "alice", source)
    ok(simulator("experiment", "favourite", str(original_id), env=alice))
    ok(simulator("experiment", "note", str(original_id), "exported: ünïcode — and \"quotes\"\nsecond line", env=alice))
    original = await store.experiments.get(original_id)

    exported = tmp_path / f"x{suffix}"
    out = ok(simulator("experiment", "export", str(original_id), "-o", str(exported), env=alice))
    assert out.strip() == f"exported {original['name']!r} to {exported}"
    text = exported.read_text(encoding="utf-8")
    assert str(original_id) in text and "alice" in text

    again_id = import_as(cli_env, "alice", exported)
    assert again_id != original_id
    again = await store.experiments.get(again_id)
    # the same experiment under a name of its own: lookups by name must tell the two apart
    assert without_provenance(again) == {**without_provenance(original), "name": f"{original['name']} (2)"}
    assert again["creator"] == "alice" and again["duplicated_from"] is None
    assert again["created_at"] >= original["created_at"]
    assert again["favourite"] is True and again["note"].endswith("second line")


async def test_creator_in_a_shared_file_is_not_trusted(store, cli_env, tmp_path):
    """Bob imports the file alice exported: the copy is bob's, whatever the file says."""
    alice_id = import_as(cli_env, "alice", PRISON)
    exported = tmp_path / "from_alice.yaml"
    ok(simulator("experiment", "export", str(alice_id), "-o", str(exported), env=as_user(cli_env, "alice")))
    assert yaml.safe_load(exported.read_text())["creator"] == "alice"

    bob_id = import_as(cli_env, "bob", exported)
    stored = await store.experiments.get(bob_id)
    assert stored["creator"] == "bob" and stored["duplicated_from"] is None
    alices = await store.experiments.get(alice_id)
    assert without_provenance(stored) == {**without_provenance(alices), "name": f"{alices['name']} (2)"}
    line = one_error_line(simulator("experiment", "note", str(bob_id), "x", env=as_user(cli_env, "alice")))
    assert f"only bob may change experiment {bob_id}; you are alice" in line
