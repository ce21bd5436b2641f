"""Driving the menus in-process through prompt_toolkit's pipe input.

Each prompt the menus open is matched against the next scripted step (a piece of its
question) and answered with that step's keystrokes, sent through the pipe the real
questionary application reads. A prompt that does not match, or one the script did
not expect, is answered with Ctrl-C (back) and reported, so a broken flow unwinds
and fails the test instead of hanging.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from pathlib import Path

from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from simulator.cli.menus.app import session_main
from simulator.cli.menus.ui import Ui

DOWN, UP, ESC, CTRL_C, CTRL_D, CTRL_U, BACKSPACE = "\x1b[B", "\x1b[A", "\x1b", "\x03", "\x04", "\x15", "\x7f"


@dataclass
class Script:
    steps: list[tuple[str, str]]
    pipe: object = None
    asked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __call__(self, message: str) -> None:
        self.asked.append(message)
        if self.problems or not self.steps:
            if not self.problems:
                self.problems.append(f"unexpected prompt {message!r}")
            self.pipe.send_text(CTRL_C)
            return
        expected, keys = self.steps.pop(0)
        if expected not in message:
            self.problems.append(f"expected a prompt with {expected!r}, got {message!r}")
            self.pipe.send_text(CTRL_C)
            return
        self.pipe.send_text(keys)

    def check(self) -> None:
        assert not self.problems, (self.problems, self.asked)
        assert not self.steps, f"steps left: {self.steps}; asked: {self.asked}"


@dataclass
class Run:
    script: Script
    screen: str
    code: int


def menu_env(settings, **extra: str) -> dict[str, str]:
    env = {"MONGODB_URI": settings.mongodb_uri, "DB_NAME": settings.db_name, "OLLAMA_HOST": settings.ollama_host,
           "SIM_USER": settings.user, "DB_TIMEOUT_MS": "2000"}
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


async def drive(env: dict[str, str], steps: list[tuple[str, str]], dotenv_path: Path,
                timeout: float = 300) -> Run:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=200)
    script = Script(list(steps))
    with create_pipe_input() as pipe:
        script.pipe = pipe
        with create_app_session(input=pipe, output=DummyOutput()):
            code = await asyncio.wait_for(session_main(Ui(console, script), env, dotenv_path), timeout)
    return Run(script, out.getvalue(), code)
