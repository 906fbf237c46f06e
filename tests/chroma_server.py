"""Pytest plugin: real ``chroma run`` servers on free loopback ports, and a token-checking proxy.

Registered from ``tests/conftest.py`` with ``pytest_plugins = ["tests.chroma_server"]``.

- ``chroma_server`` (session fixture): one server for the whole run, yields ``(host, port)``.
- :func:`start_chroma_server`: a private server (e.g. to stop and restart it in a test).
- :func:`start_token_server`: a server started with Chroma's token-auth settings; its ``enforces_auth``
  says whether this Chroma build actually checks them (1.5.9's Rust ``chroma run`` does not).
- :class:`TokenProxy`: a reverse proxy that demands ``Authorization: Bearer <token>`` (or
  ``X-Chroma-Token``) in front of a server, the way a server is secured when Chroma itself cannot.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HOST = "127.0.0.1"
HEARTBEAT = "/api/v2/heartbeat"
PROBE = "/api/v2/tenants/default_tenant/databases/default_database/collections"


def chroma_bin() -> str:
    """The ``chroma`` CLI of the interpreter running the tests (the project's venv)."""
    here = Path(sys.executable).with_name("chroma")
    if here.exists():
        return str(here)
    found = shutil.which("chroma")
    if not found:
        raise RuntimeError(f"no `chroma` command beside {sys.executable} or on PATH")
    return found


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _status(url: str, headers: dict[str, str] | None = None, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class ChromaServer:
    """One ``chroma run`` subprocess; stop and start it again on the same port and folder at will."""

    def __init__(self, path: Path, port: int | None = None, host: str = HOST, env: dict[str, str] | None = None):
        self.path = Path(path)
        self.host = host
        self.port = port or free_port(host)
        self.env = env or {}
        self.log = self.path.with_name(self.path.name + f".{self.port}.log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0
        """How long the last :meth:`start` took until the heartbeat answered."""

    @property
    def address(self) -> tuple[str, int]:
        """(host, port)."""
        return self.host, self.port

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> ChromaServer:
        """Start the server and wait until its heartbeat answers."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.path.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "NO_COLOR": "1", **self.env}
        cmd = [chroma_bin(), "run", "--host", self.host, "--port", str(self.port), "--path", str(self.path)]
        began = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        while time.monotonic() - began < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}:\n{self.log_tail()}")
            if _status(self.url + HEARTBEAT, timeout=0.5) == 200:
                self.start_seconds = time.monotonic() - began
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"chroma run did not answer on {self.url} within {timeout:g} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait until the port is free."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def enforces_auth(self) -> bool:
        """Whether a request without credentials is refused (401/403)."""
        return _status(self.url + PROBE) in (401, 403)

    def log_tail(self, n: int = 4000) -> str:
        """End of the server's log."""
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_chroma_server(path: Path, port: int | None = None, env: dict[str, str] | None = None) -> ChromaServer:
    """Start ``chroma run`` on a free loopback port (or ``port``) persisting to ``path``."""
    return ChromaServer(path, port=port, env=env).start()


def start_token_server(path: Path, token: str) -> ChromaServer:
    """Start ``chroma run`` configured for static-token auth the way Chroma documents it.

    Those are the settings of the Python server (0.4-0.6); check :meth:`ChromaServer.enforces_auth`, since
    the Rust server behind ``chroma run`` in 1.x wires in no authentication provider and ignores them.
    """
    env = {
        "CHROMA_SERVER_AUTHN_PROVIDER": "chromadb.auth.token_authn.TokenAuthenticationServerProvider",
        "CHROMA_SERVER_AUTHN_CREDENTIALS": token,
        "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER": "Authorization",
    }
    return start_chroma_server(path, env=env)


class TokenProxy:
    """A small reverse proxy that forwards only requests carrying the token (401 otherwise)."""

    def __init__(self, upstream: tuple[str, int], token: str, host: str = HOST):
        self.upstream = upstream
        self.token = token
        self.refused = 0
        """Requests answered 401."""
        self.forwarded = 0
        """Requests passed to the server."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sent = self.headers.get("X-Chroma-Token") or self.headers.get("Authorization", "")
                if sent.removeprefix("Bearer ").strip() != proxy.token:
                    proxy.refused += 1
                    msg = b"401 Unauthorized: missing or wrong token"
                    self.send_response(401)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
                proxy.forwarded += 1
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    skip = {"host", "content-length", "connection"}
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host, self.port = host, self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TokenProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One ``chroma run`` for the whole test session on a free loopback port; yields (host, port)."""
    server = start_chroma_server(tmp_path_factory.mktemp("chroma-server") / "data")
    try:
        yield server.address
    finally:
        with contextlib.suppress(Exception):
            server.stop()
