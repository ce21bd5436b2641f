"""A model the Ollama server lacks is pulled with progress, then used.

No registry is reachable here, so a local endpoint plays the server's side of the pull
protocol (NDJSON progress lines); the provider and the progress bar are the real ones.
"""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rich.console import Console

from simulator.cli.progress import PullProgressBar
from simulator.llm.ollama_provider import OllamaChatModel
from simulator.llm.types import ChatOptions

TOTAL = 5_000_000


class PullingServer:
    def __init__(self):
        self.pulled = False
        self.pull_requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, payload):
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                models = [{"name": "tiny:latest", "model": "tiny:latest", "digest": "sha256:feed", "size": TOTAL}]
                self._json({"models": models if server.pulled else []})

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/api/pull":
                    server.pull_requests += 1
                    lines = [{"status": "pulling manifest"}]
                    lines += [{"status": "pulling feed", "digest": "sha256:feed", "total": TOTAL, "completed": done}
                              for done in (0, TOTAL // 2, TOTAL)]
                    lines += [{"status": "success"}]
                    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    server.pulled = True
                else:
                    self._json({"model": "tiny", "done": True, "message": {"role": "assistant", "content": "hello"},
                                "prompt_eval_count": 2, "eval_count": 1})

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.http.shutdown()
        self.http.server_close()


async def test_missing_model_is_pulled_with_progress_then_answers():
    server = PullingServer()
    seen = []
    try:
        model = OllamaChatModel("tiny", server.url, on_pull=lambda *update: seen.append(update))
        reply = await model.chat([{"role": "user", "content": "hi"}], ChatOptions())
        assert reply.text == "hello" and reply.digest == "sha256:feed"
        assert server.pull_requests == 1
        assert ("pulling feed", TOTAL // 2, TOTAL) in seen and seen[-1][0] == "success"
        await model.chat([{"role": "user", "content": "again"}], ChatOptions())
        assert server.pull_requests == 1  # pulled once, not per call
    finally:
        server.close()


def test_progress_bar_shows_percent_and_size():
    out = io.StringIO()
    bar = PullProgressBar("tiny", Console(file=out, width=100, force_terminal=False))
    bar("pulling manifest", None, None)
    bar("pulling feed", TOTAL // 2, TOTAL)
    bar.progress.refresh()
    bar.close()
    text = out.getvalue()
    assert "50%" in text and "5.0 MB" in text and "tiny pulling feed" in text
