"""The metrics work with no network: nothing is downloaded at import or first use.

A child Python runs every metric for the first time in the process (so any lazy download
would happen there) with the network removed in two ways: inside `unshare -n`, a network
namespace with no interfaces (this machine runs tests as root), or, where the kernel refuses
that, with HTTP(S) proxies pointed at a closed port; and in both cases with socket connect()
replaced by a function that records the address and fails. The Hugging Face offline switches
are removed from the child's environment on purpose: the packages must not try, not merely
be told to give up. Any attempt fails the test.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, math, socket
attempts = []
def refuse(self, address, *args, **kwargs):
    attempts.append(repr(address))
    raise OSError("network disabled by tests/test_analysis_offline.py")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse

from simulator.analysis.metrics import METRICS, Similarity, similarity, toxicity_scores
text = "You are a worthless piece of garbage, I will break your legs."
values = {name: metric(text) for name, metric in METRICS.items()}
values["similarity"] = similarity(text, "Good morning, may I have some yard time?")
values["similarity_tfidf"] = Similarity("tfidf")(text, "Good morning.")
values["toxicity_batch"] = toxicity_scores([text, "Good morning."])[1]
print(json.dumps({"values": values, "backend": Similarity().backend, "attempts": attempts}))
"""


def network_namespace_works() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def offline_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    closed = "http://127.0.0.1:9"  # the discard port; nothing listens there
    env.update(HTTP_PROXY=closed, HTTPS_PROXY=closed, http_proxy=closed, https_proxy=closed, NO_PROXY="",
               PYTHONPATH=str(ROOT))
    return env


def test_every_metric_gives_a_number_with_the_network_removed():
    prefix = ["unshare", "-n"] if network_namespace_works() else []
    done = subprocess.run([*prefix, sys.executable, "-c", CHILD], cwd=ROOT, env=offline_environment(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["attempts"] == [], f"network attempts with {prefix or 'closed proxies'}: {report['attempts']}"
    values = report["values"]
    assert set(values) == {"length", "difficulty", "positivity", "toxicity", "similarity", "similarity_tfidf",
                           "toxicity_batch"}
    assert all(isinstance(v, float) for v in values.values()), values
    assert values["toxicity"] > 0.5 > values["toxicity_batch"]
    assert values["positivity"] < 0
