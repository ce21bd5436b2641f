"""Background servers we start ourselves: one pid file, one log file, one way to stop.

Shared by scripts/services.py (FerretDB, Ollama) and scripts/postgres_cluster.py
(PostgreSQL). A pid file holds the pid, the port (None for a server that listens on a
Unix socket only) and any facts the starter wants to find again (FerretDB's backend).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable


class ServiceError(Exception):
    """A service could not be built or started; the message says what to look at."""


def say(text: str) -> None:
    print(f"[services] {text}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
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


def group_members(pgid: int) -> list[int]:
    """Live processes of process group `pgid`. Linux gives no new process a pid that is still a
    group's id, so after the group's leader died these are its own children, not strangers."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _parent, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


# How each server wants to be stopped: (first signal, to its whole process group?).
# PostgreSQL: SIGINT to the postmaster alone is its "fast shutdown" (SIGTERM would wait for
# every client to leave, and signalling its children directly is not how it is stopped).
STOP_SIGNALS: dict[str, tuple[int, bool]] = {"postgres": (signal.SIGINT, False)}


class Service:
    """One background server with its pid file, log file and (optional) TCP port."""

    def __init__(self, name: str, state: Path):
        self.name = name
        self.state = state
        self.pid_file = state / "run" / f"{name}.pid"
        self.log_file = state / "logs" / f"{name}.log"

    def info(self) -> dict[str, Any] | None:
        """The pid file's contents while our process is alive, else None."""
        try:
            info = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        return info if pid_alive(info["pid"]) else None

    def running(self) -> tuple[int, int | None] | None:
        """(pid, port) when our process is alive, else None."""
        info = self.info()
        return (info["pid"], info.get("port")) if info else None

    def start(self, argv: list[str], port: int | None, env: dict[str, str], ready: Callable[[], bool],
              timeout: float = 60, facts: dict[str, Any] | None = None, **popen: Any) -> None:
        """Start unless running; wait until `ready()`. `popen` goes to subprocess.Popen (user, cwd...)."""
        current = self.running()
        if not current:
            self._stop_orphans()
        if current:
            if current[1] != port:
                raise ServiceError(f"{self.name} already runs on port {current[1]} from {self.state}; "
                                   f"stop it first (make services-down)")
            say(f"{self.name}: already running{self._where(port)} (pid {current[0]})")
            return
        if port is not None and port_open(port):
            raise ServiceError(f"port {port} is taken by another program; "
                               f"stop it or choose another port for {self.name}")
        proc = self._spawn(argv, env, popen)
        self.pid_file.write_text(json.dumps({"pid": proc.pid, "port": port, **(facts or {})}))
        self._wait_ready(proc, ready, timeout, port)

    def _spawn(self, argv: list[str], env: dict[str, str], popen: dict[str, Any]) -> subprocess.Popen:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, **env}, start_new_session=True, **popen)

    def _wait_ready(self, proc: subprocess.Popen, ready: Callable[[], bool], timeout: float,
                    port: int | None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise ServiceError(f"{self.name} exited at start (code {proc.returncode}); see {self.log_file}")
            if ready():
                say(f"{self.name}: running{self._where(port)} (pid {proc.pid}, log {self.log_file})")
                return
            time.sleep(0.1)
        self.stop()
        raise ServiceError(f"{self.name} did not answer{self._where(port)} within {timeout:.0f}s; "
                           f"see {self.log_file}")

    @staticmethod
    def _where(port: int | None) -> str:
        return f" on 127.0.0.1:{port}" if port is not None else ""

    def _stop_orphans(self) -> None:
        """Kill what a server killed with -9 left in its process group: an Ollama model runner
        (about 100 MB each) lives on otherwise, and a restart would add a second generation."""
        try:
            leader = int(json.loads(self.pid_file.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if pid_alive(leader):
            return
        orphans = group_members(leader)
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if orphans:
            say(f"{self.name}: stopped {len(orphans)} process(es) its crashed server left behind")

    def stop(self) -> None:
        current = self.running()
        if not current:
            self._stop_orphans()
            self.pid_file.unlink(missing_ok=True)
            return
        pid = current[0]
        first, whole_group = STOP_SIGNALS.get(self.name, (signal.SIGTERM, True))
        for sig, group, wait in ((first, whole_group, 30.0), (signal.SIGKILL, True, 5.0)):
            try:
                os.killpg(pid, sig) if group else os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and pid_alive(pid):
                time.sleep(0.1)
            if not pid_alive(pid):
                break
        self.pid_file.unlink(missing_ok=True)
        say(f"{self.name}: stopped")
