import pytest

from simulator.config import DEFAULT_MONGODB_URI, build_mongodb_uri, describe_hosts, load_settings
from simulator.errors import ConfigError


def test_mongodb_uri_wins_over_original_variables():
    env = {"MONGODB_URI": "mongodb://db.example:27018", "DB_CLUSTER_URL": "cluster0.x.mongodb.net"}
    assert build_mongodb_uri(env) == "mongodb://db.example:27018"


def test_original_tool_variables_build_an_srv_uri_with_quoted_credentials():
    env = {"DB_USER": "ana maria", "DB_PASSWORD": "p@ss:w/rd", "DB_CLUSTER_URL": "cluster0.ab.mongodb.net"}
    assert build_mongodb_uri(env) == (
        "mongodb+srv://ana+maria:p%40ss%3Aw%2Frd@cluster0.ab.mongodb.net/?retryWrites=true&w=majority"
    )


def test_full_url_in_cluster_variable_is_used_as_is():
    env = {"DB_USER": "u", "DB_PASSWORD": "p", "DB_CLUSTER_URL": "mongodb://10.0.0.5:27017/?tls=false"}
    assert build_mongodb_uri(env) == "mongodb://10.0.0.5:27017/?tls=false"


def test_nothing_configured_means_the_local_server():
    assert build_mongodb_uri({}) == DEFAULT_MONGODB_URI


def test_user_without_password_is_refused():
    with pytest.raises(ConfigError, match="DB_USER and DB_PASSWORD"):
        build_mongodb_uri({"DB_USER": "u", "DB_CLUSTER_URL": "c.mongodb.net"})


def test_host_description_never_contains_the_password():
    uri = "mongodb+srv://bob:hunter2@cluster0.ab.mongodb.net/?retryWrites=true"
    assert describe_hosts(uri) == "cluster0.ab.mongodb.net"
    settings = load_settings({"MONGODB_URI": uri})
    assert "hunter2" in settings.secrets()


def test_settings_defaults_and_identity():
    settings = load_settings({"DB_USER": "carol", "DB_PASSWORD": "x", "DB_CLUSTER_URL": "c.mongodb.net",
                              "OLLAMA_HOST": "127.0.0.1:11500", "OPENAI_API_KEY": "sk-test"})
    assert settings.db_name == "simulator"
    assert settings.user == "carol"
    assert settings.ollama_host == "http://127.0.0.1:11500"
    assert "sk-test" not in repr(settings)
    assert load_settings({"SIM_USER": "dave", "DB_USER": "carol", "DB_PASSWORD": "x"}).user == "dave"


def test_bad_timeout_is_a_config_error():
    with pytest.raises(ConfigError, match="DB_TIMEOUT_MS"):
        load_settings({"DB_TIMEOUT_MS": "soon"})


def test_dotenv_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("DB_NAME=from_file\nSIM_USER=file_user\n")
    monkeypatch.setenv("SIM_USER", "env_user")
    monkeypatch.delenv("DB_NAME", raising=False)
    settings = load_settings(dotenv_path=env_file)
    assert settings.db_name == "from_file"
    assert settings.user == "env_user"


def test_identity_is_the_authenticated_user_and_sim_user_may_not_contradict_it():
    from simulator.config import Settings, identity

    declared = load_settings({"SIM_USER": " alice "})
    assert (declared.user, declared.declared_user) == ("alice", "alice")
    assert identity(declared, None) == "alice"  # no logins on the server: the declared name
    assert identity(declared, "alice") == "alice"
    with pytest.raises(ConfigError, match="SIM_USER is 'alice' but the database authenticated you as 'bob'"):
        identity(declared, "bob")
    undeclared = Settings(user="login-name")
    assert identity(undeclared, "bob") == "bob"  # the server decides; the login name is only a fallback
    assert load_settings({"SIM_USER": "   ", "DB_USER": "carol", "DB_PASSWORD": "x"}).declared_user is None
