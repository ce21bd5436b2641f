"""A chat endpoint (OpenAI and Anthropic alike) that answers after a fixed delay, in its own process.

    python benchmarks/slow_endpoint.py PORT DELAY_SECONDS

Its own process, like any real model server, and asyncio inside, so 64 waiting requests
cost 64 sleeping coroutines rather than 64 threads: the figure measures our client side.
"""

from __future__ import annotations

import asyncio
import json
import sys

# One body that is both an OpenAI chat completion and an Anthropic message, so one server serves
# both clients (each ignores the other's fields).
BODY = json.dumps({"id": "b", "object": "chat.completion", "type": "message", "role": "assistant", "created": 0,
                   "model": "bench", "stop_reason": "end_turn", "content": [{"type": "text", "text": "A fixed answer."}],
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": "A fixed answer."}}],
                   "usage": {"prompt_tokens": 50, "completion_tokens": 4, "total_tokens": 54,
                             "input_tokens": 50, "output_tokens": 4}}).encode()
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(BODY)).encode()
            + b"\r\n\r\n" + BODY)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Keep-alive loop: read one request (headers + Content-Length body), wait, answer."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int, delay: float) -> None:
    server = await asyncio.start_server(lambda r, w: handle(r, w, delay), "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), float(sys.argv[2])))
