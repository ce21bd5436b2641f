#!/usr/bin/env python3
"""The main job `make demo` runs, against the services `make services` started.

It checks the database, lists the local models, asks smollm2:135m (SmolLM2-135M-Instruct)
one question through each provider, then runs the prison experiment 1v1 on it for 10
messages over 2 days, showing the turns live, and prints the stored transcript.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR = str(Path(sys.executable).parent / "simulator")
MODEL = "smollm2:135m"


def step(*args: str, capture: bool = False) -> str:
    """Run a simulator command, echoing its output live; returns it when `capture`."""
    print(f"\n$ simulator {' '.join(args)}", flush=True)
    process = subprocess.Popen([SIMULATOR, *args], text=True, stdout=subprocess.PIPE if capture else None)
    captured = []
    if capture:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            captured.append(line)
    if process.wait() != 0:
        sys.exit(f"demo: `simulator {' '.join(args)}` failed (exit {process.returncode})")
    return "".join(captured)


def main() -> None:
    step("db", "ping")
    step("models", "list")
    step("models", "chat", f"ollama/{MODEL}", "Good morning, guard. Is it yard time yet?",
         "--system", "You are Guard_117, a prison guard. Answer in one sentence.", "--seed", "42")
    os.environ.setdefault("OPENAI_BASE_URL", os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434") + "/v1")
    step("models", "chat", f"openai/{MODEL}", "Describe the prison kitchen in one sentence.", "--seed", "42")
    output = step("run", str(ROOT / "prompts" / "prison.yaml"), "--llm", f"ollama/{MODEL}",
                  "--agents", "guard=1,prisoner=1", "--messages", "10", "--days", "2", "--seed", "42", capture=True)
    conversation = output.split()[1]
    step("show", conversation)


if __name__ == "__main__":
    main()
