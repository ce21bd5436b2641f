"""The OpenAI moderation scorer against a local fake of the endpoint (the real one is never called).

The fake speaks POST /v1/moderations on 127.0.0.1: it answers 429 first (with Retry-After),
then category scores derived from the words of each text, and counts what it got. The
scorer must retry like a chat call, store every category per message, show harassment and
violence by default, record its calls and replay them with the fake gone.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from analysis_fixtures import prison_batch
from simulator.actions.analysis import load_runs
from simulator.actions.experiments import import_file
from simulator.actions.scoring import ScorerChoice, build_scorer, score_conversations
from simulator.analysis.report import experiment_report
from simulator.config import Settings
from simulator.errors import ModelError
from simulator.llm.factory import CallMode, ModelSettings
from simulator.llm.retry import RetryPolicy

CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "self-harm", "sexual", "violence",
              "violence/graphic")


def categories(text: str) -> dict[str, float]:
    rude = any(w in text.lower() for w in ("garbage", "yard", "guard"))
    return {c: (0.8 if rude and c in ("harassment", "violence") else 0.01) for c in CATEGORIES}


class FakeModeration:
    """POST /v1/moderations: `fail_first` answers of `status`, then scores; counts requests and texts."""

    def __init__(self, fail_first: int = 1, status: int = 429):
        self.fail_first, self.status, self.requests, self.texts = fail_first, status, 0, 0
        self.paths: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                fake.requests += 1
                fake.paths.append(self.path)
                if fake.requests <= fake.fail_first:
                    payload, status = {"error": {"message": f"injected {fake.status}"}}, fake.status
                else:
                    fake.texts += len(body["input"])
                    payload, status = {"id": "modr-1", "model": body["model"], "results": [
                        {"flagged": False, "categories": {}, "category_scores": categories(t)}
                        for t in body["input"]]}, 200
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
async def runs(store, settings, prison_on_sim_tiny):
    experiment = await import_file(store, settings.user, prison_on_sim_tiny)
    batch_id, outcome = await prison_batch(store, settings, experiment, experiment.experiment.llms[0], n_messages=4,
                                           repeats=1)
    return experiment, await store.conversations.in_batch(batch_id)


def fast(mode: CallMode = CallMode.RECORD, attempts: int = 3) -> ModelSettings:
    return ModelSettings(retry=RetryPolicy(attempts=attempts, timeout=10, base_delay=0.01), mode=mode)


async def test_moderation_scores_every_category_retries_and_replays(store, settings, runs):
    experiment, conversations = runs
    fake = FakeModeration(fail_first=1, status=429)
    keyed = Settings(**{**settings.__dict__, "openai_api_key": "sk-test-not-a-real-key",
                        "openai_base_url": fake.url})
    try:
        scorer = await build_scorer(store, keyed, fast(), experiment, ScorerChoice(kind="moderation"), "alice")
        summary = await score_conversations(store, scorer, conversations)
    finally:
        fake.close()
    assert (summary.scored, summary.failed) == (16, 0)
    assert fake.requests == 2 and fake.texts == 16 and set(fake.paths) == {"/v1/moderations"}  # one 429, one batch
    data = await load_runs(store, conversations)
    assert data.score_columns == sorted(f"moderation.{c}" for c in CATEGORIES)
    report = experiment_report(data)
    assert report.scores == ["moderation.harassment", "moderation.violence"]  # shown on screen by default
    assert report.table("scores_by_role").frame["score"].nunique() == len(CATEGORIES)  # every category in the CSV
    row = data.messages.iloc[0]
    assert row["moderation.harassment"] == categories(row["content"])["harassment"]

    nowhere = Settings(**{**keyed.__dict__, "openai_base_url": "http://127.0.0.1:9/v1"})
    replayed = await build_scorer(store, nowhere, fast(CallMode.REPLAY), experiment, ScorerChoice(kind="moderation"),
                                  "alice")
    before = data.messages.sort_values(["conversation_id", "index"])["moderation.violence"].tolist()
    assert (await score_conversations(store, replayed, conversations, again=True)).scored == 16
    again = await load_runs(store, conversations)
    assert again.messages.sort_values(["conversation_id", "index"])["moderation.violence"].tolist() == before


@pytest.mark.parametrize("status, requests, words", [(503, 3, "HTTP 503"), (400, 1, "HTTP 400")])
async def test_moderation_failures_follow_the_chat_retry_rules(store, settings, runs, status, requests, words):
    experiment, conversations = runs
    fake = FakeModeration(fail_first=100, status=status)
    keyed = Settings(**{**settings.__dict__, "openai_api_key": "sk-test-not-a-real-key",
                        "openai_base_url": fake.url})
    try:
        scorer = await build_scorer(store, keyed, fast(CallMode.LIVE), experiment, ScorerChoice(kind="moderation"),
                                    "alice")
        with pytest.raises(ModelError, match=words):
            await score_conversations(store, scorer, conversations)
    finally:
        fake.close()
    assert fake.requests == requests  # 5xx retried up to the attempts, 400 not at all
    assert await store.scores.for_conversations([c.id for c in conversations]) == []
