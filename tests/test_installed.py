"""The tool installed as a wheel, run from another folder, as a researcher who does not work in a clone.

The wheel is built from this tree and installed with pip into a fresh virtual environment; its
dependencies are borrowed from the test environment's site-packages through a path file (appended
after the fresh environment's own, so `simulator` itself comes from the wheel, not the clone).
"""

from __future__ import annotations

import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `simulator` script of a fresh virtual environment holding the wheel built from this tree."""
    folder = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(folder / "dist"), str(ROOT)], check=True, capture_output=True)
    (wheel,) = (folder / "dist").glob("*.whl")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (own,) = venv.glob("lib/python*/site-packages")
    (own / "borrowed.pth").write_text("\n".join(p for p in site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    "--no-index", "-q", str(wheel)], check=True, capture_output=True)
    return venv / "bin" / "simulator"


def run(installed: Path, *args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_installed_package_is_not_the_clone(installed, tmp_path):
    python = installed.with_name("python")
    where = subprocess.run([str(python), "-c", "import simulator; print(simulator.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert str(ROOT) not in where and "site-packages" in where


def test_every_protocol_runs_from_another_folder(installed, cli_env, tmp_path):
    env = {**cli_env, "SIM_LOG_DIR": str(tmp_path / "logs")}
    listed = run(installed, "backrooms", "--list-templates", env=env, cwd=tmp_path)
    assert listed.returncode == 0 and "cli" in listed.stdout and "student_teacher" in listed.stdout, listed.stderr
    python = installed.with_name("python")
    prison = subprocess.run([str(python), "-c", "from simulator.prompts import examples; print(examples()['prison'])"],
                            cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    commands = [
        ("run", prison, "--llm", "ollama/sim-tiny", "--messages", "2", "--agents", "guard=1,prisoner=1"),
        ("chatroom", "--models", "ollama/sim-tiny", "ollama/sim-tiny", "--max-iterations", "2"),
        ("backrooms", "--lm", "ollama/sim-tiny", "ollama/sim-tiny", "--template", "cli", "--max-turns", "1"),
        ("telephone", "--llm", "ollama/sim-tiny", "--generations", "1"),
        ("iterated-learning", "--llm", "ollama/sim-tiny", "--generations", "1"),
    ]
    for command in commands:
        result = run(installed, *command, "--seed", "1", env=env, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        assert "Traceback" not in result.stderr
