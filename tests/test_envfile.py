"""Remembering a login in `.env`: merged into what is there, read back exactly, owner-only."""

from __future__ import annotations

import io
import stat

import pytest
from dotenv import dotenv_values

from simulator import envfile
from simulator.actions.session import visible_databases
from simulator.cli.login import check_database_name, configured, remembered_keys, server_of, uri_for
from simulator.config import Settings
from simulator.errors import ValidationError

EXISTING = """# my settings
OPENAI_API_KEY=sk-keep-me
export OLLAMA_HOST=http://127.0.0.1:11500

DB_NAME=old   # a comment after the value
MONGODB_URI=mongodb://old:1
DB_NAME=duplicate
"""


def test_merge_keeps_other_keys_and_comments_updates_ours_and_appends_the_rest(tmp_path):
    path = tmp_path / ".env"
    path.write_text(EXISTING)
    path.chmod(0o644)
    envfile.update_file(path, {"DB_NAME": "lab", "MONGODB_URI": "mongodb://u:p%40ss@db:27017/?w=1&x=2",
                               "DB_USER": "ana"})
    text = path.read_text()
    assert text.startswith("# my settings\nOPENAI_API_KEY=sk-keep-me\nexport OLLAMA_HOST=http://127.0.0.1:11500\n\n")
    values = dotenv_values(path)
    assert values == {"OPENAI_API_KEY": "sk-keep-me", "OLLAMA_HOST": "http://127.0.0.1:11500", "DB_NAME": "lab",
                      "MONGODB_URI": "mongodb://u:p%40ss@db:27017/?w=1&x=2", "DB_USER": "ana"}
    assert text.count("DB_NAME=") == 1  # the duplicate further down can not override the new value
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # no temporary file left behind


def test_a_new_file_is_created_owner_only(tmp_path):
    path = tmp_path / ".env"
    envfile.update_file(path, {"DB_NAME": "lab"})
    assert path.read_text() == "DB_NAME=lab\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("value", ["plain", "p@ss w$rd", "it's", "back\\slash", "a#b", "$HOME", "x\\'y", "", " lead",
                                   "é ü", 'a"b', "\\"])
def test_values_read_back_exactly(value):
    text = envfile.merge("A=1\nK=old\n", {"K": value})
    assert dotenv_values(stream=io.StringIO(text)) == {"A": "1", "K": value}


@pytest.mark.parametrize("value", ["line\nbreak", "${HOME}"])
def test_values_dotenv_can_not_read_back_are_refused(value):
    with pytest.raises(ValueError):
        envfile.merge("", {"K": value})


def test_none_removes_a_key():
    assert envfile.merge("A=1\nB=2\n# c\n", {"B": None}) == "A=1\n# c\n"


def test_login_helpers():
    assert uri_for("mongodb://db.lab:27017/?tls=false", "ana maria", "p@ss:w/rd") == \
        "mongodb://ana+maria:p%40ss%3Aw%2Frd@db.lab:27017/?tls=false"
    assert uri_for("mongodb://old:secret@db.lab", "ana", "new") == "mongodb://ana:new@db.lab"
    assert uri_for("mongodb://db.lab:27017", "", "") == "mongodb://db.lab:27017"
    assert uri_for("cluster0.ab.mongodb.net", "ana", "pw") == \
        "mongodb+srv://ana:pw@cluster0.ab.mongodb.net/?retryWrites=true&w=majority"
    assert server_of({"MONGODB_URI": "mongodb://ana:secret@db.lab:27017/?tls=false"}) == \
        "mongodb://db.lab:27017/?tls=false"
    assert server_of({"DB_CLUSTER_URL": "cluster0.ab.mongodb.net"}) == "cluster0.ab.mongodb.net"
    assert configured({"DB_CLUSTER_URL": "c"}) and not configured({"MONGODB_URI": " "})
    assert visible_databases(["admin", "lab", "config", "local", "alpha"]) == ["alpha", "lab"]
    assert check_database_name(" lab_2 ") == "lab_2"
    for bad in ("", "a b", "a.b", "x" * 64):
        with pytest.raises(ValidationError):
            check_database_name(bad)
    settings = Settings(mongodb_uri="mongodb://ana:pw@db:1/", db_name="lab")
    assert remembered_keys(settings, "ana") == {"MONGODB_URI": "mongodb://ana:pw@db:1/", "DB_NAME": "lab",
                                                "DB_USER": "ana"}
