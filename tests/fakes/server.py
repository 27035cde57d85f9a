"""A real HTTP server on 127.0.0.1 that answers from a script: the base of the fake providers.

Each request takes the next scripted mode of its endpoint (or of any endpoint), else ``ok``:

- ``ok``: the provider's success answer;
- ``400``, ``429``, ``500``: the provider's error answer with that status;
- ``hang``: no answer at all (the client times out); nothing is accepted;
- ``accept-hang``: the provider accepts the message, then never answers (the dangerous case:
  sent, but the sender does not know).

``delay`` makes every answer wait that many seconds (to keep workers busy in tests).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

MODES = ("ok", "400", "429", "500", "hang", "accept-hang")


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float = field(default_factory=time.monotonic)
    mode: str = "ok"

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


HANG = None  # what ``answer`` returns to leave the client waiting


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real providers
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the
    # client's delayed ACK (40 ms on Linux).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake.connections.add(self.connection)

    def finish(self) -> None:
        self.server.fake.connections.discard(self.connection)
        super().finish()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        request = Recorded(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        answer = self.server.fake.dispatch(request)
        if answer is HANG:
            self.server.fake.wait_released()
            self.close_connection = True
            return
        payload = (
            answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        )
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeServer


class FakeServer:
    def __init__(self, *, delay: float = 0.0, hang_seconds: float = 30.0) -> None:
        self.delay = delay
        self.hang_seconds = hang_seconds
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.hung: list[Recorded] = []
        self.hang_started = threading.Event()
        self._scripts: dict[str, deque[str]] = defaultdict(deque)
        self._released = threading.Event()
        # Open keep-alive connections: closed on stop so no handler thread outlives the fake.
        self.connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> Self:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # Script

    def push(self, *modes: str, endpoint: str = "*") -> None:
        """Answer the next requests (to ``endpoint``, e.g. ``"messages"``) with ``modes``."""
        for mode in modes:
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r}")
        with self.lock:
            self._scripts[endpoint].extend(modes)

    def _next_mode(self, endpoint: str) -> str:
        with self.lock:
            for key in (endpoint, "*"):
                if self._scripts[key]:
                    return self._scripts[key].popleft()
        return "ok"

    def wait_released(self) -> None:
        self._released.wait(self.hang_seconds)

    def release(self) -> None:
        """Let hung requests go (they end without an answer)."""
        self._released.set()

    # Dispatch

    def endpoint(self, request: Recorded) -> str:
        return request.path.rstrip("/").rsplit("/", 1)[-1]

    def dispatch(self, request: Recorded) -> Answer | None:
        if request.path == "/__fake/stats":
            return Answer(200, self.stats())
        denied = self.check_auth(request)
        mode = self._next_mode(self.endpoint(request))
        request.mode = mode
        with self.lock:
            self.requests.append(request)
        if self.delay:
            time.sleep(self.delay)
        if denied is not None:
            return denied
        if mode == "hang":
            self._hang(request)
            return HANG
        if mode in ("400", "429", "500"):
            return self.error(request, int(mode))
        answer = self.accept(request)
        if mode == "accept-hang" and 200 <= answer.status < 300:
            self._hang(request)
            return HANG
        return answer

    def _hang(self, request: Recorded) -> None:
        with self.lock:
            self.hung.append(request)
        self.hang_started.set()

    # What a provider does: subclasses

    def check_auth(self, request: Recorded) -> Answer | None:
        return None

    def accept(self, request: Recorded) -> Answer:
        raise NotImplementedError

    def error(self, request: Recorded, status: int) -> Answer:
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": len(self.requests)}
