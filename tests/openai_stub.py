"""Pytest plugin: a scriptable OpenAI-compatible chat server on a free loopback port.

Registered from ``tests/conftest.py`` with ``pytest_plugins = [..., "tests.openai_stub"]``.

- ``openai_stub`` (function fixture): a running :class:`OpenAIStub`, reset for the test (nothing queued,
  nothing recorded); point a client at ``stub.base_url``. It is one server per session
  (``openai_stub_server``), so the port, and the HTTP client langchain caches per base URL, are reused;
  start a private one with ``with OpenAIStub() as stub:``.
- Script the next replies to ``POST /v1/chat/completions`` with :meth:`OpenAIStub.reply`,
  :meth:`~OpenAIStub.error`, :meth:`~OpenAIStub.slow` and :meth:`~OpenAIStub.broken_stream` (a queue,
  one entry per request), or set :attr:`OpenAIStub.handler` to decide from the request itself.
- Every request is recorded in :attr:`OpenAIStub.requests` (headers and parsed JSON body), so tests can
  assert on the prompt and on the ``Authorization`` header.
- :meth:`OpenAIStub.quote` answers like a small local model: from the passages of each request's own data
  block, quoting sentences of a passage and citing them all, none, some, wrongly (another passage's key) or
  with keys it was never given (:func:`quoting_reply`).

A reply is rendered the way the request asks: a ``chat.completion`` JSON object, or, when the body has
``"stream": true``, ``text/event-stream`` chunks (``data: {...}``) ending with ``data: [DONE]``. Streams
are sent with chunked transfer encoding, so a "drop" really is an incomplete body to the client.
"""

from __future__ import annotations

import collections
import contextlib
import json
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import pytest

HOST = "127.0.0.1"
CHAT_PATH = "/v1/chat/completions"

CiteStyle = Literal["all", "none", "some", "wrong", "unknown"]
"""How :func:`quoting_reply` cites: every sentence, none, only the first, each with the key of another
passage of the prompt, or each with a key that is not in the prompt (``[2019-999 Q9]``)."""
UNKNOWN_KEY = "[2019-999 Q9]"
_PASSAGE = re.compile(r"passage (\d+) \| citation key: (\[[^\]\n]+\])\n(.*?)(?=\n\npassage \d+ \||\Z)", re.S)
_BODY = re.compile(r"^(?:answer|opening presentation|record details|text): (.*)", re.S | re.M)
_STUB_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")


@dataclass
class StubReply:
    """What the stub sends for one request.

    ``content`` is split into ``deltas`` for streaming when ``deltas`` is not given (and joined back for a
    non-streaming request when only ``deltas`` is given). ``delay`` seconds pass before anything is sent.
    ``status`` other than 200 sends ``error_body`` (JSON) instead; ``echo_auth`` puts the request's
    ``Authorization`` header into that body, the way a careless proxy might.
    ``break_after``: when streaming, send that many deltas, then ``break_mode``: ``"drop"`` closes the
    connection in the middle of the chunked body, ``"garbage"`` sends ``data:`` lines that are not JSON and
    ends the stream without ``[DONE]``, ``"eof"`` ends it cleanly but with no finish reason and no
    ``[DONE]`` (a truncated reply). A non-streaming request gets an HTML page as its JSON body
    (``"garbage"``) or a body cut short by a closed connection (``"drop"``).
    """

    content: str = ""
    deltas: list[str] | None = None
    status: int = 200
    error_body: dict[str, Any] | None = None
    echo_auth: bool = False
    delay: float = 0.0
    delta_delay: float = 0.0
    break_after: int | None = None
    break_mode: Literal["drop", "garbage", "eof"] = "drop"
    finish_reason: str = "stop"

    def stream_deltas(self) -> list[str]:
        if self.deltas is not None:
            return list(self.deltas)
        text = self.content
        return [text[i : i + 8] for i in range(0, len(text), 8)] or [""]

    def full_text(self) -> str:
        return self.content if self.deltas is None else "".join(self.deltas)


@dataclass
class StubRequest:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names lower-cased (``req.headers["authorization"]``)."""
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    def message(self, role: str) -> str:
        """Text of the first message with ``role`` (``""`` when none)."""
        for m in self.messages:
            if m.get("role") == role:
                content = m.get("content")
                if isinstance(content, list):  # content parts
                    return "".join(p.get("text", "") for p in content if isinstance(p, dict))
                return str(content or "")
        return ""

    @property
    def transcript(self) -> str:
        """Every message as ``role: content`` lines, in order."""
        return "\n".join(f"{m.get('role')}: {m.get('content')}" for m in self.messages)


def prompt_passages(request: StubRequest) -> list[tuple[str, str]]:
    """``(citation key, body)`` of each passage in the request's data block, in order."""
    user = request.message("user")
    block = user[user.find("<<<PASSAGES") : user.rfind("PASSAGES>>>")]
    out = []
    for m in _PASSAGE.finditer(block):
        body = _BODY.search(m.group(3))
        out.append((m.group(2), body.group(1).strip() if body else ""))
    return out


def quoting_reply(request: StubRequest, *, cite: CiteStyle = "all", passage: int = 1, sentences: int = 2) -> StubReply:
    """A reply a small model might give: the first ``sentences`` sentences of passage ``passage`` (1-based) of
    the request's data block, verbatim, cited as ``cite`` says."""
    passages = prompt_passages(request)
    if not passages:  # a rewrite or a translation: an empty reply leaves the question as it is
        return StubReply(content="")
    key, body = passages[min(passage, len(passages)) - 1]
    other = next((k for k, _ in passages if k != key), UNKNOWN_KEY)
    quoted = [m.group(0).strip() for m in _STUB_SENTENCE.finditer(body) if m.group(0).strip()][:sentences]
    out = []
    for i, sentence in enumerate(quoted):
        text, end = (sentence[:-1], sentence[-1]) if sentence[-1] in "。！？!?；;" else (sentence, "。")
        mark = {"all": key, "none": "", "some": key if i == 0 else "", "wrong": other, "unknown": UNKNOWN_KEY}[cite]
        out.append(f"{text}{mark}{end}")
    return StubReply(content="".join(out))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up with socket.getfqdn, which can stall without a network.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up (timeout, abandoned stream) resets its connection: not worth a traceback.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class OpenAIStub:
    """A threaded HTTP server speaking enough of the OpenAI chat API for tests."""

    def __init__(self, host: str = HOST, port: int = 0):
        self.requests: list[StubRequest] = []
        self.queue: collections.deque[StubReply] = collections.deque()
        self.handler: Callable[[StubRequest], StubReply] | None = None
        """Decides the reply when the queue is empty (the queue wins while it holds anything)."""
        self.default: StubReply | None = None
        """Sent when the queue is empty and no handler is set; ``None`` answers 500 "no reply queued"."""
        self.model = "stub-model"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                self._record(b"")
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": stub.model, "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                req = self._record(raw)
                if self.path.rstrip("/") != CHAT_PATH:
                    self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                    return
                reply = stub._next(req)
                with contextlib.suppress(OSError):  # the client may have given up (timeout) and closed
                    self._send(req, reply)

            def _record(self, raw: bytes) -> StubRequest:
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                headers = {k.lower(): v for k, v in self.headers.items()}
                req = StubRequest(self.command, self.path, headers, body)
                with stub._lock:
                    stub.requests.append(req)
                return req

            def _json(self, status: int, obj: dict[str, Any]) -> None:
                data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def _send(self, req: StubRequest, reply: StubReply) -> None:
                stop = stub._stop  # set by stop() and by reset(): wakes this handler if it sleeps
                if reply.delay and stop.wait(reply.delay):
                    return
                if reply.status != 200:
                    body = reply.error_body or {
                        "error": {"message": f"stub error {reply.status}", "type": "server_error", "code": None}
                    }
                    if reply.echo_auth:
                        body = {**body, "echo": {"authorization": req.headers.get("authorization", "")}}
                        body["error"] = {**body.get("error", {}), "message": f"bad request from {body['echo']}"}
                    self._json(reply.status, body)
                    return
                if not req.stream:
                    if reply.break_after is not None:
                        self._break_body(reply.break_mode)
                    else:
                        self._json(200, stub._completion(reply))
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                deltas = reply.stream_deltas()
                for i, delta in enumerate(deltas):
                    if reply.break_after is not None and i >= reply.break_after:
                        self._break(reply.break_mode)
                        return
                    first = {"role": "assistant", "content": delta} if i == 0 else {"content": delta}
                    self._event(stub._chunk(first, None))
                    if reply.delta_delay and stop.wait(reply.delta_delay):
                        return
                if reply.break_after is not None:
                    self._break(reply.break_mode)
                    return
                self._event(stub._chunk({}, reply.finish_reason))
                self._event("[DONE]")
                self._write_chunk(b"")  # terminating chunk

            def _event(self, payload: dict[str, Any] | str) -> None:
                data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
                self._write_chunk(f"data: {data}\n\n".encode())

            def _write_chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def _break_body(self, mode: str) -> None:
                """A non-streaming reply gone wrong: an HTML error page as JSON, or a body cut short."""
                data = b"<html><body>502 Bad Gateway</body></html>" if mode == "garbage" else b'{"id": "chat'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) if mode == "garbage" else 4096))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                if mode != "garbage":
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)

            def _break(self, mode: str) -> None:
                if mode == "eof":
                    self._write_chunk(b"")  # a clean end, but no finish_reason and no [DONE]
                    return
                if mode == "garbage":
                    self._write_chunk(b'data: {"choices": [{"delta": {"content": "\xe4\xb8\x8d\n\n')
                    self._write_chunk(b"data: <html>502 Bad Gateway</html>\n\n")
                    self._write_chunk(b"")
                else:
                    # Half a chunk: announce 64 bytes, send 5, then hang up.
                    self.wfile.write(b"40\r\ndata:")
                    self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

        self._server = _Server((host, port), Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="openai-stub", daemon=True
        )

    # -- scripting ---------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What a client takes as ``base_url`` (``http://127.0.0.1:PORT/v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    def push(self, reply: StubReply) -> OpenAIStub:
        """Queue one reply (for the next request not yet answered)."""
        with self._lock:
            self.queue.append(reply)
        return self

    def reply(self, content: str = "", **kw: Any) -> OpenAIStub:
        """Queue a successful reply (JSON or SSE, as the request asks)."""
        return self.push(StubReply(content=content, **kw))

    def error(self, status: int = 500, **kw: Any) -> OpenAIStub:
        """Queue an HTTP error reply."""
        return self.push(StubReply(status=status, **kw))

    def slow(self, delay: float, content: str = "too late", **kw: Any) -> OpenAIStub:
        """Queue a reply sent only after ``delay`` seconds (for client timeouts)."""
        return self.push(StubReply(content=content, delay=delay, **kw))

    def broken_stream(self, deltas: list[str], mode: Literal["drop", "garbage", "eof"] = "drop") -> OpenAIStub:
        """Queue a stream that sends ``deltas`` and then breaks (see :class:`StubReply`)."""
        return self.push(StubReply(deltas=deltas, break_after=len(deltas), break_mode=mode))

    def quote(self, cite: CiteStyle = "all", *, passage: int = 1, sentences: int = 2) -> OpenAIStub:
        """Answer every request (once the queue is empty) from its own passages: see :func:`quoting_reply`."""
        self.handler = lambda req: quoting_reply(req, cite=cite, passage=passage, sentences=sentences)
        return self

    @property
    def last(self) -> StubRequest:
        """The last chat request received."""
        chats = [r for r in self.requests if r.path.rstrip("/") == CHAT_PATH]
        if not chats:
            raise AssertionError("the stub received no chat request")
        return chats[-1]

    @property
    def chat_requests(self) -> list[StubRequest]:
        return [r for r in self.requests if r.path.rstrip("/") == CHAT_PATH]

    # -- internals ---------------------------------------------------------------------------------------

    def _next(self, req: StubRequest) -> StubReply:
        with self._lock:
            if self.queue:
                return self.queue.popleft()
        if self.handler is not None:
            return self.handler(req)
        if self.default is not None:
            return self.default
        return StubReply(status=500, error_body={"error": {"message": "stub: no reply queued", "type": "stub"}})

    def _completion(self, reply: StubReply) -> dict[str, Any]:
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.full_text()},
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    # -- lifecycle ---------------------------------------------------------------------------------------

    def reset(self) -> OpenAIStub:
        """Forget queued replies, handler, default and recorded requests; wake handlers still sleeping."""
        with self._lock:
            self.queue.clear()
            self.requests.clear()
            self.handler = None
            self.default = None
            self.model = "stub-model"
            old, self._stop = self._stop, threading.Event()
        old.set()
        return self

    def start(self) -> OpenAIStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake sleeping handlers, stop serving and close the socket."""
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def openai_stub_server() -> Iterator[OpenAIStub]:
    """One stub for the whole run (one port, so clients keep their connection pool between tests)."""
    with OpenAIStub() as stub:
        yield stub


@pytest.fixture
def openai_stub(openai_stub_server: OpenAIStub) -> Iterator[OpenAIStub]:
    """The shared stub, reset before and after the test: empty queue, no requests recorded."""
    yield openai_stub_server.reset()
    openai_stub_server.reset()
