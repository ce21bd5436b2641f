"""Test fixtures: private FerretDB (on its own PostgreSQL cluster) and Ollama, started once per session.

They are real servers (built, installed and cached by scripts/services.py) on free ports
in a temporary folder, so tests never touch a developer's own data and never skip.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import postgres_cluster  # noqa: E402
import services  # noqa: E402

from simulator.config import Settings  # noqa: E402
from simulator.store import connect  # noqa: E402


SERVER_FIXTURES = {"tools", "mongodb_uri", "ollama_host", "llamacpp_url", "private_state", "postgres"}
STORE_FIXTURES = {"settings", "store"}  # FerretDB and Ollama, unless the test runs on the in-memory store
IN_MEMORY = "memory"
NO_SERVER = "127.0.0.1:9"  # where nothing listens: the unit tier's settings reach no server by accident


def pytest_generate_tests(metafunc):
    """A test marked `both_stores` runs twice: on the in-memory store (simulator/store/memory.py, the unit
    tier) and on FerretDB. The store's contract tests and the engines' tests with a scripted model are."""
    if metafunc.definition.get_closest_marker("both_stores") and "store_backend" in metafunc.fixturenames:
        metafunc.parametrize("store_backend", [IN_MEMORY, "ferretdb"])


def pytest_collection_modifyitems(items):
    """A test that starts or reaches a server is marked `services`, so `pytest -m "not services"` runs the
    tests that need none."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        in_memory = callspec is not None and callspec.params.get("store_backend") == IN_MEMORY
        if names & SERVER_FIXTURES or (names & STORE_FIXTURES and not in_memory):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope="session", autouse=True)
async def _close_http_clients():
    """The model layer's HTTP sessions live on the tests' one event loop; closed before it is."""
    yield
    from simulator.llm.clients import close_clients

    await close_clients()


@pytest.fixture(scope="session")
def tools() -> services.Tools:
    return services.build_all()


@pytest.fixture(scope="session")
def service_state() -> Path:
    """The servers' folder. Not under pytest's tmp folders: those are private to us (0700), and
    PostgreSQL runs as its own user, who must be able to enter the folder."""
    path = Path(tempfile.mkdtemp(prefix="sim-test-services-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def mongodb_uri(tools, service_state) -> str:
    """FerretDB on PostgreSQL, as `make services` starts it."""
    uri = services.start_ferretdb(tools, service_state, services.free_port(), "postgresql")
    yield uri
    services.Service("ferretdb", service_state).stop()
    services.Service("postgres", service_state).stop()


@pytest.fixture
def private_state() -> Path:
    """A folder for servers of one test's own (to kill or to run on another backend), stopped afterwards."""
    path = Path(tempfile.mkdtemp(prefix="sim-test-private-"))
    path.chmod(0o711)
    yield path
    services.down(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(tools, service_state, mongodb_uri) -> postgres_cluster.Cluster:
    """The PostgreSQL cluster behind the session's FerretDB, for tests that look underneath it."""
    return postgres_cluster.Cluster(service_state, tools.postgres, postgres_cluster.server_user())


@pytest.fixture(scope="session")
def ollama_host(tools, service_state) -> str:
    host = services.start_ollama(tools, service_state, services.free_port())
    yield host
    services.Service("ollama", service_state).stop()


@pytest.fixture(scope="session")
def llamacpp_url(tools, service_state) -> str:
    """llama.cpp's llama-server serving smollm2:135m: the OpenAI API with log-probabilities and
    Anthropic's Messages API, offline. Started only for the tests that ask for it."""
    url = services.start_llamacpp(tools, service_state, services.free_port())
    yield url
    services.Service("llamacpp", service_state).stop()


@pytest.fixture
def llamacpp_settings(settings, llamacpp_url) -> Settings:
    """The test settings with the `llamacpp` endpoint, and the `anthropic` one pointed at the same server."""
    import dataclasses

    return dataclasses.replace(settings, llamacpp_url=llamacpp_url,
                               provider_values={"ANTHROPIC_BASE_URL": llamacpp_url.removesuffix("/v1")})


@pytest.fixture
def db_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store_backend() -> str:
    """FerretDB, unless the test is marked `both_stores` (see pytest_generate_tests)."""
    return "ferretdb"


@pytest.fixture
def settings(request, store_backend, db_name) -> Settings:
    if store_backend == IN_MEMORY:
        return Settings(mongodb_uri=f"mongodb://{NO_SERVER}", db_name=db_name, ollama_host=f"http://{NO_SERVER}",
                        user="alice", db_timeout_ms=500)
    return Settings(mongodb_uri=request.getfixturevalue("mongodb_uri"), db_name=db_name,
                    ollama_host=request.getfixturevalue("ollama_host"), user="alice", db_timeout_ms=5000)


@pytest.fixture
async def store(store_backend, settings):
    if store_backend == IN_MEMORY:
        from simulator.store.memory import memory_store

        store = await memory_store(settings.db_name, settings.user)
    else:
        store = await connect(settings)
    yield store
    await store.client.drop_database(settings.db_name)
    await store.close()


@pytest.fixture
def prison_on_sim_tiny(tmp_path) -> Path:
    """prompts/prison.yaml with only the fast bigram model, for tests of the menus and the engine's
    mechanics; the shipped file runs smollm2:135m first."""
    import yaml

    data = yaml.safe_load((ROOT / "prompts" / "prison.yaml").read_text())
    data["llms"] = [{"model": "ollama/sim-tiny", "temperature": 0.7, "top_k": 40, "top_p": 0.9}]
    path = tmp_path / "prison.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def cli_env(settings, tmp_path) -> dict[str, str]:
    """Environment for running the `simulator` command against the test servers."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DB_", "MONGODB_", "OLLAMA_", "OPENAI_", "ANTHROPIC_", "SIM_"))}
    env.update(MONGODB_URI=settings.mongodb_uri, DB_NAME=settings.db_name, OLLAMA_HOST=settings.ollama_host,
               SIM_USER=settings.user, SIM_LOG_DIR=str(tmp_path / "logs"))
    return env
