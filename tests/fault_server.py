"""A local HTTP endpoint that misbehaves on purpose, for the retry tests.

It speaks just enough of the Ollama, OpenAI and Anthropic APIs for a provider to reach the chat
call, then answers it the way `mode` says, counting the chat requests it got.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OLLAMA_REPLY = {"model": "faulty", "created_at": "2026-01-01T00:00:00Z", "done": True,
                "message": {"role": "assistant", "content": "recovered"}, "prompt_eval_count": 3, "eval_count": 2}
OPENAI_REPLY = {"id": "x", "object": "chat.completion", "created": 0, "model": "faulty",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "recovered"}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}


ANTHROPIC_REPLY = {"id": "msg_x", "type": "message", "role": "assistant", "model": "faulty",
                   "content": [{"type": "text", "text": "recovered"}], "stop_reason": "end_turn",
                   "usage": {"input_tokens": 3, "output_tokens": 2}}


class FaultServer:
    """mode: ok | 500 | 429 | 529 | 400 | hang | malformed | echo | huge; `failures` bad answers, then good ones.
    echo: a 500 whose body repeats the request's Authorization header, as a careless proxy might;
    huge: a 200 of 20 MB of JSON, as a broken or hostile server might send."""

    def __init__(self, mode: str, failures: int = 1_000, hang_seconds: float = 3.0, retry_after: str = "2"):
        self.mode, self.failures, self.hang_seconds, self.retry_after = mode, failures, hang_seconds, retry_after
        self.chat_requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_is_failure(self) -> bool:
        with self._lock:
            self.chat_requests += 1
            return self.chat_requests <= self.failures

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.startswith("/api/tags"):
                    self._send(200, json.dumps({"models": [{"name": "faulty:latest", "model": "faulty:latest",
                                                            "digest": "sha256:abc", "size": 1}]}).encode())
                elif self.path.startswith("/v1/models"):  # the OpenAI model list preflight asks for
                    self._send(200, json.dumps({"object": "list", "data": [
                        {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "faulty"}]}).encode())
                else:
                    self._send(404, b'{"error": "not found"}')

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                good = OLLAMA_REPLY if self.path.startswith("/api/") else ANTHROPIC_REPLY \
                    if self.path.startswith("/v1/messages") else OPENAI_REPLY
                if server.mode == "ok" or not server._next_is_failure():
                    return self._send(200, json.dumps(good).encode())
                if server.mode == "hang":
                    time.sleep(server.hang_seconds)
                    return self._send(200, json.dumps(good).encode())
                if server.mode == "huge":
                    return self._send(200, b'{"padding": "' + b"x" * (20 * 1024 * 1024) + b'"}')
                if server.mode == "malformed":
                    return self._send(200, b'{"choices": [ this is not json')
                if server.mode == "echo":
                    echoed = {"error": {"message": f"bad gateway; you sent Authorization: "
                                                   f"{self.headers.get('Authorization')}"}}
                    return self._send(500, json.dumps(echoed).encode())
                status = int(server.mode)
                headers = {"Retry-After": server.retry_after} if status in (429, 529) else {}
                self._send(status, json.dumps({"error": {"message": f"injected {status}"}}).encode(), headers)

        return Handler
