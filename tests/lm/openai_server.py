"""A scripted OpenAI-compatible chat server on 127.0.0.1, for provider tests.

Each request takes the next reply of the script (the last one repeats). Requests are recorded
with their JSON body and headers. The server stops when the test's ``with`` block ends.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    text: str = "[[answer]]\nParis"
    prompt_tokens: int = 11
    completion_tokens: int = 3
    delay: float = 0.0
    error: str = ""


@dataclass
class FakeOpenAI:
    script: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(
                        {
                            "path": self.path,
                            "body": body,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                        }
                    )
                    index = min(len(server.requests) - 1, len(server.script) - 1)
                    reply = server.script[index]
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status == 200:
                    payload: dict[str, Any] = {
                        "id": f"chatcmpl-{len(server.requests)}",
                        "object": "chat.completion",
                        "created": 1700000000,
                        "model": body.get("model", "m"),
                        "choices": [
                            {
                                "index": i,
                                "message": {"role": "assistant", "content": reply.text},
                                "finish_reason": "stop",
                            }
                            for i in range(int(body.get("n") or 1))
                        ],
                        "usage": {
                            "prompt_tokens": reply.prompt_tokens,
                            "completion_tokens": reply.completion_tokens,
                            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                        },
                    }
                else:
                    payload = {
                        "error": {
                            "message": reply.error or f"status {reply.status}",
                            "type": "error",
                            "code": str(reply.status),
                        }
                    }
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
