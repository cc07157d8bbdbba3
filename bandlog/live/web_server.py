"""The phone view's server: three static files and one WebSocket, on a thread with its own event loop.

Built on `websockets` alone: its `process_request` hook answers the plain HTTP GETs for the page
(/, /app.js, /style.css, read once from package data into memory: no path from a request ever
reaches the file system) and lets only /ws go on to the WebSocket handshake. With a token (LAN
mode) every request, page and socket, must carry ?token=...; without one (localhost only) the Host
header must name this machine, so a web page elsewhere cannot reach the server by DNS rebinding.

The pipeline never waits for it: publish() and reply() hand a dict over with call_soon_threadsafe
(microseconds), and this thread does the JSON and the socket writes. A page whose socket backs up
past MAX_CLIENT_BUFFER_BYTES is dropped (it reconnects and gets a full frame). A page's messages go
to parse_rating; a valid rating is handed to `on_rating` on this thread, anything else is answered
with the reason, counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
import secrets
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response

from bandlog.core.errors import ConfigError
from bandlog.live.web_frames import Frame, PageMirror
from bandlog.live.web_protocol import MAX_MESSAGE_BYTES, Rating, RatingRefused, parse_rating

log = logging.getLogger(__name__)

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
"""The only paths served besides /ws; everything else is 404."""
SOCKET_PATH = "/ws"
QUERY_MARK = "__QUERY__"
"""Where index.html's asset links take the token (empty on localhost)."""
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
MAX_CLIENT_BUFFER_BYTES = 1 << 20
LOGGED_REFUSALS = 10
"""Refused messages and requests logged one by one; past this they are only counted."""
START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0
ENDED_REASON = "the recording ended"


def static_files(query: str) -> dict[str, tuple[bytes, str]]:
    """The page's files from package data, index.html with `query` (e.g. '?token=...') on its links."""
    folder = resources.files("bandlog.live").joinpath("web_static")
    files = {}
    for path, (name, content_type) in STATIC.items():
        body = folder.joinpath(name).read_bytes()
        if name == "index.html":
            body = body.replace(QUERY_MARK.encode(), query.encode())
        files[path] = (body, content_type)
    return files


class WebServer:
    """Serves the page and pushes frames to every connected page; start() it, stop() it once."""

    def __init__(self, host: str, port: int, token: str | None, on_rating: Callable[[Rating, ServerConnection], None]) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.on_rating = on_rating
        self._files = static_files("" if token is None else f"?token={token}")
        self._mirror = PageMirror()
        self._clients: set[ServerConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: OSError | None = None
        self._listening = False
        self._thread = threading.Thread(target=self._run, name="bandlog-web", daemon=True)
        self.frames_published = 0
        self.clients_total = 0
        self.requests_forbidden = 0
        self.requests_not_found = 0
        self.messages_refused = 0
        self.slow_clients_dropped = 0

    # --- lifecycle (pipeline thread) ---

    def start(self) -> None:
        """Listen now; ConfigError if the port cannot be had."""
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise ConfigError(f"the live web view did not start within {START_TIMEOUT_S:.0f} s")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT_S)
            raise ConfigError(f"the live web view cannot listen on {self.host} port {self.port}: "
                              f"{self._error.strerror or self._error} (choose another --web-port, or leave it out for a free one)")
        if not self._listening:
            raise ConfigError("the live web view's server did not start (see the log above)")

    def publish(self, frame: Frame) -> None:
        """Hand a frame to every page (and to the mirror for pages that connect later); never blocks."""
        self._call(self._broadcast_frame, frame)

    def reply(self, client: ServerConnection, message: dict[str, Any]) -> None:
        """Send one message to one page (the answer to its rating); never blocks."""
        self._call(self._send_to, client, message)

    def stop(self) -> None:
        """Close every page's socket (1001, 'the recording ended') after what was published, and the port."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("the live web view's server did not stop within %.0f s", STOP_TIMEOUT_S)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stats(self) -> dict[str, float]:
        return {"frames_published": self.frames_published, "clients_total": self.clients_total,
                "clients_now": len(self._clients), "requests_forbidden": self.requests_forbidden,
                "requests_not_found": self.requests_not_found, "messages_refused": self.messages_refused,
                "slow_clients_dropped": self.slow_clients_dropped}

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        if self._loop is None or not self._thread.is_alive():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed since the check: the server is gone, nobody to send to
            self._loop.call_soon_threadsafe(callback, *args)

    # --- the server's own thread ---

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # a server bug must not take the recording with it: the log says the page stopped updating
            log.exception("the live web view's server stopped; the recording goes on without it")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            server = await serve(self._handle, self.host, self.port, process_request=self._process_request,
                                 compression=None, max_size=MAX_MESSAGE_BYTES, ping_interval=5, ping_timeout=10, close_timeout=2,
                                 logger=log)
        except OSError as error:
            self._error = error
            self._ready.set()
            return
        self.port = self._bound_port(server)
        self._listening = True
        self._ready.set()
        await self._stop.wait()
        server.close(code=CloseCode.GOING_AWAY, reason=ENDED_REASON)
        await server.wait_closed()

    @staticmethod
    def _bound_port(server: Server) -> int:
        return int(server.sockets[0].getsockname()[1])

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if not self._allowed(request, url.query):
            self.requests_forbidden += 1
            self._note_refusal("request refused (403): %s", url.path)
            return self._plain(connection, http.HTTPStatus.FORBIDDEN, "forbidden\n")
        if url.path == SOCKET_PATH:
            return None  # on to the WebSocket handshake
        found = self._files.get(url.path)
        if found is None:
            self.requests_not_found += 1
            return self._plain(connection, http.HTTPStatus.NOT_FOUND, "not found\n")
        body, content_type = found
        headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                           ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                           ("Referrer-Policy", "no-referrer"), ("Content-Security-Policy", CSP),
                           ("Connection", "close")])
        return Response(http.HTTPStatus.OK.value, http.HTTPStatus.OK.phrase, headers, body)

    def _allowed(self, request: Request, query: str) -> bool:
        host = request.headers.get("Host", "")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"http://{host}":  # a socket opened from someone else's page
            return False
        if self.token is not None:
            given = parse_qs(query).get("token", [""])[0]
            return secrets.compare_digest(given.encode(), self.token.encode())
        return host in {f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}"}

    @staticmethod
    def _plain(connection: ServerConnection, status: http.HTTPStatus, text: str) -> Response:
        response = connection.respond(status, text)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _handle(self, connection: ServerConnection) -> None:
        self.clients_total += 1
        if self._mirror.seq:  # a page that joins late starts where the others are
            broadcast([connection], self._encode(self._mirror.full_frame()))
        self._clients.add(connection)
        try:
            async for message in connection:
                try:
                    rating = parse_rating(message)
                except RatingRefused as error:
                    self._refuse(connection, str(error))
                    continue
                self.on_rating(rating, connection)
        except ConnectionClosed as closed:
            if closed.sent is not None and closed.sent.code == CloseCode.MESSAGE_TOO_BIG:
                self.messages_refused += 1
                self._note_refusal("page message refused: over %d bytes", MAX_MESSAGE_BYTES)
        finally:
            self._clients.discard(connection)

    def _refuse(self, connection: ServerConnection, reason: str) -> None:
        self.messages_refused += 1
        self._note_refusal("page message refused: %s", reason)
        self._send_to(connection, {"type": "refused", "reason": reason})

    def _note_refusal(self, message: str, detail: object) -> None:
        refusals = self.messages_refused + self.requests_forbidden
        if refusals <= LOGGED_REFUSALS:
            log.warning(message, detail)
        if refusals == LOGGED_REFUSALS:
            log.warning("further refused requests and messages are only counted")

    @staticmethod
    def _encode(message: dict[str, Any]) -> str:
        return json.dumps(message, separators=(",", ":"), allow_nan=False)

    def _broadcast_frame(self, frame: Frame) -> None:
        self._mirror.apply(frame)
        self.frames_published += 1
        text = self._encode(frame)
        for connection in list(self._clients):
            if connection.transport.get_write_buffer_size() > MAX_CLIENT_BUFFER_BYTES:
                self.slow_clients_dropped += 1
                log.warning("a page fell %d bytes behind; dropped (it reconnects)", connection.transport.get_write_buffer_size())
                self._clients.discard(connection)
                connection.transport.abort()
        broadcast(self._clients, text)

    def _send_to(self, connection: ServerConnection, message: dict[str, Any]) -> None:
        broadcast([connection], self._encode(message))
