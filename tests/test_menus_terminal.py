"""`simulator` with no arguments, in a real pseudo-terminal (tmux): walk to a conversation, see it in colour."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from simulator.protocols.roles import role_spec
from simulator.actions import conversations as conv
from simulator.actions.experiments import import_file
from simulator.llm.factory import ModelSettings

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR = str(Path(sys.executable).parent / "simulator")
SGR = re.compile(r"\x1b\[[0-9;]*m")
TMUX = shutil.which("tmux")


class Pane:
    """One tmux session on a private socket, so no one else's tmux is touched."""

    def __init__(self, env: dict[str, str], cwd: Path, command: str):
        self.socket = f"sim-test-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.tmux("new-session", "-d", "-s", "menus", "-x", "180", "-y", "50", "-c", str(cwd), command)

    def tmux(self, *args: str) -> str:
        return subprocess.run([TMUX, "-L", self.socket, *args], env=self.env, capture_output=True, text=True,
                              timeout=30, check=True).stdout

    def screen(self, colours: bool = False) -> str:
        return self.tmux("capture-pane", "-p", "-t", "menus", *(["-e"] if colours else []))

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def question(self) -> str:
        """The menu now open: the last `? ` line, if it still shows its instruction (answered ones show the answer)."""
        asked = [line for line in self.screen().splitlines() if line.startswith("? ")]
        return asked[-1] if asked and "(arrows or type to filter" in asked[-1] else ""

    def wait_for_question(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.question():
                return
            time.sleep(0.1)
        raise AssertionError(f"no question with {text!r}; the screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "menus", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "menus", "-l", text)

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], env=self.env, capture_output=True)

    def open_conversation(self, status: str, cid) -> None:
        """Start menu -> browse all conversations -> the one conversation with this status."""
        self.wait_for_question("LLM Interaction Simulator")
        self.type("browse")
        self.keys("Enter")
        self.wait_for_question("All conversations: 1")
        self.type(status)
        self.keys("Enter")
        self.wait_for_question(f"Conversation {cid}")

    def leave(self, cid) -> None:
        """Esc goes back one level at a time; Esc at the start menu leaves, with no traceback."""
        self.wait_for_question(f"Conversation {cid}")
        self.keys("Escape")
        self.wait_for_question("All conversations: 1")
        self.keys("Escape")
        self.wait_for_question("LLM Interaction Simulator")
        self.keys("Escape")
        shown = self.wait_for("MENUS-EXITED-", timeout=20)
        assert "MENUS-EXITED-0" in shown and "Traceback" not in shown


@pytest.fixture
def menus(cli_env, tmp_path):
    """Starts `simulator` in a tmux pane when called. No skip: `make test` installs tmux when missing."""
    assert TMUX is not None, "tmux is required for the terminal tests (make test installs it)"
    env = {k: v for k, v in cli_env.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    panes: list[Pane] = []

    def start() -> Pane:
        panes.append(Pane(env, tmp_path, f"{SIMULATOR}; echo MENUS-EXITED-$?; sleep 30"))
        return panes[-1]

    yield start
    for pane in panes:
        pane.close()


async def test_walk_to_a_conversation_and_see_the_coloured_transcript(store, settings, tmp_path, menus,
                                                                     prison_on_sim_tiny):
    stored = await import_file(store, settings.user, prison_on_sim_tiny)
    request = role_spec(llm=stored.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1}, n_messages=6,
                        days=2, seed=11)
    cid = await conv.create(store, settings.user, stored, request)
    outcome = await conv.run(store, settings, cid, ModelSettings())  # a real run on sim-tiny
    assert outcome.messages == 6
    doc = await store.conversations.get(cid)
    guard, prisoner = (a.name for a in doc.agents)

    pane = menus()
    pane.open_conversation("completed", cid)
    pane.keys("Enter")  # View, the first choice
    pane.wait_for("Summary of day 2")
    coloured = pane.screen(colours=True)
    (tmp_path / "screen.ansi").write_text(coloured)
    plain = SGR.sub("", coloured)
    assert "Starting message" in plain and "Day 1" in plain and "Day 2" in plain
    assert f"{guard}:" in plain and f"{prisoner}:" in plain
    # each role in its own colour: the SGR codes right before each agent's name differ
    guard_colour = re.search(rf"((?:\x1b\[[0-9;]*m)+){guard}\b", coloured)
    prisoner_colour = re.search(rf"((?:\x1b\[[0-9;]*m)+){prisoner}\b", coloured)
    assert guard_colour and prisoner_colour, coloured
    assert guard_colour.group(1) != prisoner_colour.group(1)
    assert all(re.search(r"\x1b\[(?:[0-9;]*;)?3[0-7]m", m.group(1)) for m in (guard_colour, prisoner_colour))
    pane.leave(cid)


def test_without_a_terminal_the_menus_say_so_in_one_line(cli_env):
    result = subprocess.run([SIMULATOR], env=cli_env, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "the menus need a terminal; `simulator --help` lists the commands for scripts"]


async def test_ctrl_c_during_a_run_stops_it_resumably_and_the_menu_goes_on(store, settings, menus):
    stored = await import_file(store, settings.user, ROOT / "tests" / "data" / "small_prison.yaml")
    request = role_spec(llm=stored.experiment.llms[0], agent_counts={"guard": 1, "prisoner": 1},
                        n_messages=5000, seed=3)
    cid = await conv.create(store, settings.user, stored, request)
    pane = menus()
    pane.open_conversation("pending", cid)
    pane.type("resume")
    pane.keys("Enter")
    deadline = time.monotonic() + 60
    while await store.messages.count(cid) < 20 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    pane.keys("C-c")
    pane.wait_for("stopped; it can be resumed", timeout=30)
    pane.wait_for_question(f"Conversation {cid}")
    assert "Resume (status stopped)" in pane.screen()
    pane.leave(cid)
    doc = await store.conversations.get(cid)
    stored_messages = await store.messages.count(cid)
    assert doc.status.value == "stopped" and doc.stop_reason == "interrupted"
    assert 20 <= stored_messages < 5000
    assert [m.index for m in await store.messages.list(cid)] == list(range(stored_messages))
