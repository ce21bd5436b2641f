"""The dev-services script: idempotent start, status, and the sim-tiny model on real Ollama."""

import os
import signal
import subprocess
import sys
import time

import ollama
import postgres_cluster
import processes
import pytest
import services


def test_starting_again_reuses_the_running_servers(tools, service_state, mongodb_uri, ollama_host, capsys):
    before = {name: services.Service(name, service_state).running() for name in ("ferretdb", "postgres", "ollama")}
    data = (service_state / "postgres" / "data" / "PG_VERSION").stat().st_mtime_ns
    port = int(mongodb_uri.rsplit(":", 1)[1])
    assert services.start_ferretdb(tools, service_state, port) == mongodb_uri
    assert services.start_ollama(tools, service_state, int(ollama_host.rsplit(":", 1)[1])) == ollama_host
    assert {name: services.Service(name, service_state).running() for name in before} == before
    assert (service_state / "postgres" / "data" / "PG_VERSION").stat().st_mtime_ns == data  # no second initdb
    out = capsys.readouterr().out
    assert "postgres: already running" in out and "ferretdb: already running" in out
    assert "creating a cluster" not in out


def test_status_names_what_runs_where(service_state, mongodb_uri, ollama_host):
    result = subprocess.run([sys.executable, str(services.SCRIPTS / "services.py"), "status",
                             "--state", str(service_state)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert mongodb_uri in result.stdout and ollama_host in result.stdout
    assert str(service_state / "postgres" / "data") in result.stdout


def test_status_of_nothing_running_exits_1(tmp_path):
    result = subprocess.run([sys.executable, str(services.SCRIPTS / "services.py"), "status",
                             "--state", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "ferretdb        stopped" in result.stdout and "postgres        stopped" in result.stdout


def test_a_taken_port_is_refused_with_a_clear_message(tools, tmp_path, mongodb_uri):
    taken = int(mongodb_uri.rsplit(":", 1)[1])
    try:
        services.start_ferretdb(tools, tmp_path, taken)
    except services.ServiceError as exc:
        assert f"port {taken} is taken" in str(exc)
    else:
        raise AssertionError("a second FerretDB started on a taken port")


async def test_sim_tiny_answers_a_chat_through_the_ollama_client(ollama_host):
    client = ollama.AsyncClient(host=ollama_host)
    response = await client.chat(
        model="sim-tiny",
        messages=[{"role": "system", "content": "You are a guard in a prison yard."},
                  {"role": "user", "content": "Good morning. Where is the yard?"}],
        options={"temperature": 0.8, "seed": 7},
    )
    text = response.message.content
    assert text.strip(), "sim-tiny gave an empty reply"
    assert "\ufffd" not in text
    assert response.eval_count > 0 and response.prompt_eval_count > 0


async def test_sim_tiny_is_deterministic_at_temperature_zero(ollama_host):
    client = ollama.AsyncClient(host=ollama_host)
    messages = [{"role": "user", "content": "Tell me about the guard."}]
    first = await client.chat(model="sim-tiny", messages=messages, options={"temperature": 0, "seed": 1})
    second = await client.chat(model="sim-tiny", messages=messages, options={"temperature": 0, "seed": 1})
    assert first.message.content == second.message.content != ""


def test_a_state_folder_postgresql_cannot_enter_is_refused_in_one_line(tools, tmp_path):
    state = tmp_path / "state"  # under pytest's tmp folders, which only we may enter (0700)
    if postgres_cluster.server_user() is None:  # not root: PostgreSQL runs as us and may enter
        services.start_ferretdb(tools, state, services.free_port(), "postgresql")
        services.down(state)
        return
    with pytest.raises(services.ServiceError) as refused:
        services.start_ferretdb(tools, state, services.free_port(), "postgresql")
    message = str(refused.value)
    assert "cannot enter" in message and "chmod o+x" in message and "\n" not in message
    assert not (state / "postgres" / "data" / "PG_VERSION").exists()


def eventually(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_after_ollama_is_killed_9_down_and_up_leave_no_orphaned_runner(tools, tmp_path):
    """A model runner outlives `ollama serve` killed with -9; `down` stops it, and `up` starts
    one clean generation instead of adding a second."""
    state = tmp_path / "state"
    host = services.start_ollama(tools, state, services.free_port())
    ollama.Client(host=host).chat(model="sim-tiny", messages=[{"role": "user", "content": "hello"}])
    leader = services.Service("ollama", state).running()[0]
    runners = [pid for pid in processes.group_members(leader) if pid != leader]
    assert runners, "the chat started no model runner"
    os.kill(leader, signal.SIGKILL)
    assert eventually(lambda: not processes.pid_alive(leader))
    assert all(processes.pid_alive(pid) for pid in runners)  # what the issue found: orphans live on

    services.down(state)
    assert eventually(lambda: not any(processes.pid_alive(pid) for pid in runners))

    host = services.start_ollama(tools, state, services.free_port())
    ollama.Client(host=host).chat(model="sim-tiny", messages=[{"role": "user", "content": "hello"}])
    leader = services.Service("ollama", state).running()[0]
    os.kill(leader, signal.SIGKILL)
    assert eventually(lambda: not processes.pid_alive(leader))
    orphans = [pid for pid in processes.group_members(leader) if pid != leader]
    assert orphans
    host = services.start_ollama(tools, state, services.free_port())  # a restart after the crash
    try:
        assert eventually(lambda: not any(processes.pid_alive(pid) for pid in orphans))
        assert ollama.Client(host=host).chat(model="sim-tiny", messages=[{"role": "user", "content": "hi"}])
    finally:
        services.down(state)
