"""Identity against a server that authenticates: the local FerretDB on PostgreSQL, where alice
and bob are PostgreSQL logins with passwords (scripts/services.py add-user). The store asks the
server who is connected; a SIM_USER that says otherwise is refused; changes are creator-only."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from urllib.parse import quote_plus

import postgres_cluster
import pytest
import services
from bson import ObjectId

from simulator.config import Settings
from simulator.errors import ConfigError, PermissionDenied
from simulator.store import connect
from simulator.actions import browse

PASSWORDS = {"alice": "a'lice pw " + secrets.token_hex(4), "bob": "bob:pw@" + secrets.token_hex(4)}


@pytest.fixture(scope="module")
def logins(postgres, service_state) -> dict[str, str]:
    """alice and bob, added as a researcher would: the password on standard input, not in argv."""
    for name, password in PASSWORDS.items():
        result = subprocess.run([sys.executable, str(services.SCRIPTS / "services.py"), "add-user", name,
                                 "--state", str(service_state)], input=password + "\n", capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0 and f"login {name}" in result.stdout, result.stdout + result.stderr
        assert password not in result.stdout + result.stderr
    assert "local  all  all  scram-sha-256" in (postgres.data / "pg_hba.conf").read_text()
    return PASSWORDS


def test_add_user_refuses_a_name_postgresql_would_misread(service_state, postgres):
    result = subprocess.run([sys.executable, str(services.SCRIPTS / "services.py"), "add-user", "Robert'); --",
                             "--state", str(service_state)], input="pw\n", capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "login names are 1-63 lowercase letters" in result.stderr
    assert not postgres_cluster.psql(postgres, "SELECT 1 FROM pg_roles WHERE rolname LIKE 'Robert%'", "postgres")


def login_uri(mongodb_uri: str, user: str, password: str) -> str:
    host = mongodb_uri.split("://", 1)[1].rstrip("/")
    return f"mongodb://{quote_plus(user)}:{quote_plus(password)}@{host}/?authMechanism=PLAIN"


@pytest.fixture
def env_of(cli_env, mongodb_uri, logins):
    """The command's environment for a login: its URI with password, and no SIM_USER unless given."""
    def make(user: str, password: str | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in cli_env.items() if k != "SIM_USER"}
        env.update(MONGODB_URI=login_uri(mongodb_uri, user, password or logins[user]), COLUMNS="200", **extra)
        return env
    return make


def simulator(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def refused(result: subprocess.CompletedProcess) -> str:
    """One line of our own on stderr, a non-zero exit, and no password anywhere."""
    assert result.returncode != 0, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for password in PASSWORDS.values():
        assert password not in result.stdout + result.stderr
        assert quote_plus(password) not in result.stdout + result.stderr
    return lines[0]


async def test_the_store_knows_the_authenticated_user_not_the_declared_one(mongodb_uri, logins, db_name, store):
    anonymous = Settings(mongodb_uri=mongodb_uri, db_name=db_name, user="carol")
    async with await connect(anonymous) as connected:
        assert connected.user == "carol"  # no login: the self-declared name
    as_bob = Settings(mongodb_uri=login_uri(mongodb_uri, "bob", logins["bob"]), db_name=db_name, user="someone")
    async with await connect(as_bob) as connected:
        assert connected.user == "bob"
        assert connected.server.authenticated_user == "bob"
    with pytest.raises(ConfigError) as error:
        await connect(Settings(mongodb_uri=as_bob.mongodb_uri, db_name=db_name, user="alice",
                               declared_user="alice"))
    assert "SIM_USER is 'alice' but the database authenticated you as 'bob'" in str(error.value)


def test_sim_user_alice_with_bobs_login_is_refused_and_writes_nothing(env_of, prison_on_sim_tiny):
    line = refused(simulator("experiment", "import", str(prison_on_sim_tiny), env=env_of("bob", SIM_USER="alice")))
    assert "SIM_USER is 'alice' but the database authenticated you as 'bob'" in line
    assert "unset SIM_USER" in line
    assert "Prison" not in ok(simulator("experiment", "list", env=env_of("bob")))
    # the same name as the login is fine, and so is none
    assert ok(simulator("experiment", "list", env=env_of("bob", SIM_USER="bob"))) is not None


@pytest.mark.parametrize("wrong", ["not-her-password", ""])
def test_a_wrong_password_is_one_line_naming_the_server(env_of, mongodb_uri, prison_on_sim_tiny, wrong):
    env = env_of("alice", wrong or " ")
    line = refused(simulator("experiment", "import", str(prison_on_sim_tiny), env=env))
    host = mongodb_uri.split("://", 1)[1].rstrip("/")
    assert f"MongoDB at {host} refused the credentials" in line, line


def _stopped_conversation(env: dict[str, str], experiment: str) -> ObjectId:
    out = ok(simulator("run", experiment, "--llm", "ollama/sim-tiny", "--messages", "20", "--agents",
                       "guard=1,prisoner=1", "--wall-clock", "0.3", env=env))
    found = re.search(r"stopped: .* Conversation ([0-9a-f]{24})", out.replace("\n", " "))
    assert found, out
    return ObjectId(found.group(1))


async def test_bob_cannot_resume_favourite_annotate_or_delete_alices_work(env_of, prison_on_sim_tiny, store,
                                                                      settings, mongodb_uri, logins):
    alice, bob = env_of("alice"), env_of("bob")
    imported = ok(simulator("experiment", "import", str(prison_on_sim_tiny), env=alice))
    experiment = re.search(r"as ([0-9a-f]{24})", imported).group(1)
    conversation_id = _stopped_conversation(alice, experiment)

    async with await connect(Settings(mongodb_uri=login_uri(mongodb_uri, "bob", logins["bob"]),
                                      db_name=settings.db_name)) as as_bob:
        conversation = await as_bob.conversations.get(conversation_id)
        assert conversation.creator == "alice" and conversation.status.value == "stopped"
        stored_before = await as_bob.messages.count(conversation_id)

        line = refused(simulator("resume", str(conversation_id), env=bob))
        assert f"only alice may resume conversation {conversation_id}; you are bob" in line
        for args, action in ((("experiment", "favourite", experiment), "change"),
                             (("experiment", "note", experiment, "bob was here"), "change"),
                             (("experiment", "delete", experiment, "--yes"), "delete")):
            line = refused(simulator(*args, env=bob))
            assert f"only alice may {action} experiment {experiment}; you are bob" in line
        for attempt in (browse.set_favourite(as_bob, as_bob.user, conversation_id, True),
                        browse.delete(as_bob, as_bob.user, conversation_id)):
            with pytest.raises(PermissionDenied, match="only alice may"):
                await attempt

        assert await as_bob.messages.count(conversation_id) == stored_before
        after = await as_bob.conversations.get(conversation_id)
        assert (after.status, after.favourite) == (conversation.status, conversation.favourite)
        shown = ok(simulator("experiment", "show", experiment, env=bob))
        assert "bob was here" not in shown

        # bob may still read it and run his own copy
        copy = ok(simulator("experiment", "duplicate", experiment, env=bob))
        assert "owned by bob" in copy

        # alice may resume her own
        ok(simulator("resume", str(conversation_id), env=alice))
        assert (await as_bob.conversations.get(conversation_id)).status.value == "completed"
        assert await as_bob.messages.count(conversation_id) == 20


async def test_bob_cannot_resume_alices_batch(env_of, prison_on_sim_tiny, store):
    alice, bob = env_of("alice"), env_of("bob")
    out = ok(simulator("batch", str(prison_on_sim_tiny), "--llm", "ollama/sim-tiny", "--max-agents",
                       "guard=1,prisoner=1", "--messages", "2", "--workers", "1", env=alice))
    batch_id = re.search(r"batch ([0-9a-f]{24}):", out).group(1)
    line = refused(simulator("batch", "resume", batch_id, env=bob))
    assert f"only alice may resume batch {batch_id}; you are bob" in line
