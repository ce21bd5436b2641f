"""`simulator models list` and `simulator models chat` as real subprocesses."""

from test_cli_db import simulator


def test_models_list_shows_every_endpoint_and_what_it_serves(cli_env):
    env = {**cli_env, "COLUMNS": "200", "SIM_ENDPOINTS": "second=ollama " + cli_env["OLLAMA_HOST"] + " SECOND_KEY"}
    result = simulator("models", "list", env=env)
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 4}
    assert set(rows) >= {"ollama", "openai", "anthropic", "llamacpp", "second"}
    assert "ollama/sim-tiny:latest" in rows["ollama"] and "second/sim-tiny:latest" in rows["second"]
    assert "(not configured)" in rows["openai"] and "OPENAI_API_KEY unset" in rows["openai"]
    assert "ANTHROPIC_API_KEY unset" in rows["anthropic"] and "SECOND_KEY unset" in rows["second"]


def test_models_chat_prints_reply_tokens_and_latency(cli_env):
    result = simulator("models", "chat", "ollama/sim-tiny", "Good morning, guard.", "--seed", "4",
                       "--temperature", "0", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "prompt +" in result.stderr and "completion tokens" in result.stderr and " ms" in result.stderr


def test_openai_spec_through_ollama_v1(cli_env):
    env = {**cli_env, "OPENAI_BASE_URL": cli_env["OLLAMA_HOST"] + "/v1"}
    result = simulator("models", "chat", "openai/sim-tiny", "Hello there.", "--temperature", "0", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_missing_model_without_network_is_one_line_exit_1(cli_env):
    result = simulator("models", "chat", "ollama/no-such-model", "hi", env=cli_env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no-such-model" in lines[0] and cli_env["OLLAMA_HOST"] in lines[0]
    assert "Traceback" not in result.stderr


def test_openai_without_key_is_a_config_error(cli_env):
    result = simulator("models", "chat", "openai/gpt-4o-mini", "hi", env=cli_env)
    assert result.returncode == 1
    assert "OPENAI_API_KEY" in result.stderr and len(result.stderr.strip().splitlines()) == 1
