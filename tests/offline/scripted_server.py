"""A tiny scripted HTTP server in a test thread, for the client's retry/timeout/error paths.

Each request takes the next scripted reply: ``(status, json_body)``, ``("sleep", seconds)``
(answer late), ``("drop", None)`` (close the connection without an answer) or
``("stream", n)`` (200 with ``n`` bytes of ``application/pdf`` in 16 KiB chunks, chunked
transfer encoding, no ``Content-Length``; ``Script.streamed`` counts what was written before
the client hung up). When the script is empty it answers 200 ``{"status": "ok"}``. Every
request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Script:
    replies: list[tuple[Any, Any]] = field(default_factory=list)
    seen: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    streamed: int = 0

    def next(self) -> tuple[Any, Any]:
        with self.lock:
            return self.replies.pop(0) if self.replies else (200, {"status": "ok"})


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with script.lock:
                script.seen.append(
                    Recorded(self.command, self.path, dict(self.headers.items()), body)
                )
            kind, arg = script.next()
            if kind == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if kind == "stream":
                self._stream(int(arg))
                return
            if kind == "sleep":
                time.sleep(arg)
                kind, arg = 200, {"status": "late"}
            data = b"" if arg is None else json.dumps(arg).encode()
            self.send_response(int(kind))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if isinstance(arg, dict) and "version" in arg:
                self.send_header("ETag", arg["version"])
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, total: int) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"0" * 16384
            sent = 0  # this answer's own count: an earlier, abandoned stream may still run
            try:
                while sent < total:
                    part = chunk[: total - sent]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    sent += len(part)
                    with script.lock:
                        script.streamed += len(part)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:  # the client hung up
                self.close_connection = True

        do_GET = do_POST = do_PUT = _any  # noqa: N815 - http.server's method names

    return Handler


@contextmanager
def scripted_server() -> Iterator[tuple[str, Script]]:
    script = Script()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="scripted-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
