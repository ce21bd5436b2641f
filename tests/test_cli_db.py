"""`simulator --version` and `simulator db ping`, run as a real subprocess."""

import subprocess
import sys

from simulator import __version__


def simulator(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_version(cli_env):
    result = simulator("--version", env=cli_env)
    assert result.returncode == 0
    assert result.stdout.strip() == f"simulator {__version__}"


def test_ping_prints_server_version_and_database(cli_env, settings):
    result = simulator("db", "ping", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "FerretDB v1.24.2" in result.stdout
    assert f"database {settings.db_name}" in result.stdout


def test_unreachable_server_is_one_clear_line(cli_env):
    env = {**cli_env, "MONGODB_URI": "mongodb://127.0.0.1:1", "DB_TIMEOUT_MS": "1000"}
    result = simulator("db", "ping", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "127.0.0.1:1" in lines[0] and "connection refused" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_password_never_reaches_output_or_log(cli_env, tmp_path):
    env = {**cli_env, "MONGODB_URI": "mongodb://ana:Sup3rSecret@127.0.0.1:1/", "DB_TIMEOUT_MS": "1000"}
    result = simulator("db", "ping", env=env)
    assert result.returncode == 1
    assert "127.0.0.1:1" in result.stderr
    log_text = (tmp_path / "logs" / "simulator.log").read_text()
    assert "127.0.0.1:1" in log_text
    assert "Sup3rSecret" not in result.stderr + result.stdout + log_text


def test_malformed_uri_is_a_clear_error(cli_env):
    result = simulator("db", "ping", env={**cli_env, "MONGODB_URI": "postgres://x"})
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
