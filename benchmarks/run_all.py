"""Run every benchmark once, one after another, so their figures come from one run.

    make bench        (or .venv/bin/python benchmarks/run_all.py)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["overhead.py", "concurrency.py", "long_conversation.py", "memory.py", "store_scale.py",
           "query_plans.py", "write_concurrency.py", "workers_sweep.py", "web_render.py", "model_speed.py",
           "real_model_overhead.py", "imports.py"]
SCRIPTS += ["search_scale.py", "ray_cluster_sweep.py"]  # issue 26: message search, batches on two Ray nodes


def main() -> int:
    started = time.time()
    for script in SCRIPTS:
        print(f"\n== {script}", flush=True)
        result = subprocess.run([sys.executable, str(HERE / script)], text=True, capture_output=True)
        for line in result.stdout.splitlines():
            if not line.startswith(("[services]", "ferretdb ", "ollama ")):
                print(line, flush=True)
        if result.returncode != 0:
            print(result.stderr[-2000:], file=sys.stderr)
            return result.returncode
    print(f"\nall benchmarks done in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
