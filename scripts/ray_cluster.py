"""A Ray cluster of several nodes on this one machine, as Ray's own cluster_utils builds one for its tests.

    python scripts/services.py ray up [--nodes 2] [--ray-port 6379] [--state DIR]
    python scripts/services.py ray status [--state DIR]
    python scripts/services.py ray down [--state DIR]

Each node is a `ray start --block` of its own with its own node address on the loopback range: the
head on 127.0.0.2 (its GCS on --ray-port), then 127.0.0.3, 127.0.0.4 ... Linux routes all of
127.0.0.0/8 to the loopback, so the nodes talk over TCP as the machines of a real cluster do, and
killing one node's raylet loses that node alone. `simulator batch ... --ray 127.0.0.2:6379` places
its actors on every node. Each node runs in a process group of its own with a pid file and a log
under STATE (`ray-node-1` is the head), so `ray down` stops exactly this cluster; it also ends what
a node killed with -9 left behind (its workers, in process groups of their own, and any process of
the cluster's session), found by the session folder STATE/ray in their command line.

Nothing leaves the machine: usage statistics are off, the dashboard is not started, and the
object store is small (only run specifications and ids go through it). Ray's own servers listen
on every interface, so the cluster requires a token (`auth_env`): whoever starts a batch on it
exports the RAY_AUTH_MODE and RAY_AUTH_TOKEN_PATH that `ray up` prints.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

from processes import Service, ServiceError, group_members, pid_alive, say

HEAD_ADDRESS = "127.0.0.2"
DEFAULT_PORT = 6379
OBJECT_STORE_BYTES = 100 * 1024 * 1024  # Ray's minimum is 75 MB; actors exchange specs and ids only
STARTED = "Ray runtime started."
STOP_WAIT = 3.0  # seconds a node gets after SIGTERM before SIGKILL (Ray would drain for 30; the state is in MongoDB)
ENV = {"RAY_USAGE_STATS_ENABLED": "0"}


def auth_env(state: Path) -> dict[str, str]:
    """Token authentication, on every node and for whoever starts a batch on the cluster (`ray up` prints
    these). Ray 2.60's GCS and raylets listen on every interface whatever the node address, so without
    a token anyone who reaches this machine could run code on it. Said outright on each node: once a
    local `ray.init()` has written ~/.ray/auth_token (`--ray auto` does), a head started with the mode
    unset turns tokens on and a node joining it with the mode unset does not, and is refused."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file(state))}


def token_file(state: Path) -> Path:
    return temp_dir(state) / "auth_token"


def ensure_token(state: Path) -> None:
    """A random token of this cluster's own, readable by its owner only; kept for the next `ray up`."""
    path = token_file(state)
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))


def node_address(number: int) -> str:
    """Node 1 is the head at 127.0.0.2; node n is at 127.0.0.(n + 1)."""
    return f"127.0.0.{number + 1}"


def service(state: Path, number: int) -> Service:
    return Service(f"ray-node-{number}", state)


def temp_dir(state: Path) -> Path:
    return state / "ray"


def start_argv(state: Path, number: int, port: int) -> list[str]:
    argv = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", "--disable-usage-stats",
            "--node-ip-address", node_address(number), "--object-store-memory", str(OBJECT_STORE_BYTES),
            "--dashboard-agent-listen-port", str(free_port(node_address(number)))]
    if number == 1:
        return argv + ["--head", "--port", str(port), "--temp-dir", str(temp_dir(state)),
                       "--include-dashboard", "false"]
    return argv + ["--address", f"{HEAD_ADDRESS}:{port}"]


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def started(log: Path, offset: int):
    """A readiness check: `ray start` printed that the node runs, after `offset` in its log."""
    def ready() -> bool:
        try:
            with open(log, "rb") as file:
                file.seek(offset)
                return STARTED.encode() in file.read()
        except OSError:
            return False
    return ready


def up(state: Path, nodes: int, port: int) -> str:
    """Start the head and nodes - 1 more; returns the address to pass to `--ray`."""
    if nodes < 1 or nodes > 16:
        raise ServiceError(f"--nodes must be 1 to 16, got {nodes}")
    if not service(state, 1).running() and listening(HEAD_ADDRESS, port):
        raise ServiceError(f"{HEAD_ADDRESS}:{port} is taken (another Ray cluster, or one whose state folder is gone: "
                           f"`scripts/services.py ray down --state DIR` with its folder); choose --ray-port")
    temp_dir(state).mkdir(parents=True, exist_ok=True)
    ensure_token(state)
    for number in range(1, nodes + 1):
        node = service(state, number)
        if node.running():
            say(f"ray node {number}: already running at {node_address(number)} (pid {node.running()[0]})")
            continue
        offset = node.log_file.stat().st_size if node.log_file.exists() else 0
        node.start(start_argv(state, number, port), None, {**ENV, **auth_env(state)}, started(node.log_file, offset),
                   timeout=120,
                   facts={"address": node_address(number), "head": f"{HEAD_ADDRESS}:{port}"})
        say(f"ray node {number}: {'head ' if number == 1 else ''}at {node_address(number)}")
    return f"{HEAD_ADDRESS}:{port}"


def numbers(state: Path) -> list[int]:
    """The nodes this state folder has pid files for, head first."""
    found = [int(p.stem.rsplit("-", 1)[1]) for p in (state / "run").glob("ray-node-*.pid")]
    return sorted(found)


def down(state: Path) -> None:
    """Worker nodes first, the head last; then whatever the cluster left behind."""
    for number in reversed(numbers(state)):
        stop_node(service(state, number))
    leftovers = session_processes(state)
    for pid in leftovers:
        kill(pid, signal.SIGKILL)
    if leftovers:
        say(f"ray: stopped {len(leftovers)} process(es) left behind by a killed node")


def stop_node(node: Service) -> None:
    """SIGTERM to the node's process group, SIGKILL after STOP_WAIT: Ray drains for 30 s otherwise."""
    info = node.info()
    if info is None:
        node.stop()  # removes the pid file, ends what a killed leader left in its group
        return
    pid = info["pid"]
    for sig, wait in ((signal.SIGTERM, STOP_WAIT), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and (pid_alive(pid) or group_members(pid)):
            time.sleep(0.1)
        if not pid_alive(pid) and not group_members(pid):
            break
    node.pid_file.unlink(missing_ok=True)
    say(f"ray node {node.name.rsplit('-', 1)[1]}: stopped")


def session_processes(state: Path) -> list[int]:
    """Live processes whose command line names this cluster's session folder (its workers among them)."""
    marker = str(temp_dir(state).resolve()).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "cmdline").read_bytes() and pid_alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def status(state: Path) -> int:
    """Print each node; exit 0 when the head runs."""
    head_up = False
    for number in numbers(state):
        info = service(state, number).info()
        where = node_address(number) + (" (head)" if number == 1 else "")
        print(f"ray-node-{number:<6} {'running' if info else 'stopped'}  {where}" +
              (f"  pid {info['pid']}" if info else ""))
        head_up = head_up or (number == 1 and info is not None)
    if not numbers(state):
        print("no Ray cluster started from this folder (scripts/services.py ray up)")
    return 0 if head_up else 1


def main(state: Path, action: str | None, nodes: int, port: int) -> int:
    if action == "up":
        address = up(state, nodes, port)
        print(f"RAY_ADDRESS={address}")
        for name, value in auth_env(state).items():
            print(f"{name}={value}")
        print(f"export the two RAY_AUTH_ variables, then: simulator batch ... --ray {address}")
        return 0
    if action == "down":
        down(state)
        return 0
    if action == "status":
        return status(state)
    raise ServiceError(f"ray needs up, down or status, got {action!r}: scripts/services.py ray up --nodes 2")
