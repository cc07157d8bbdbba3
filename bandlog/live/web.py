"""The browser front end (`--view web`): the live view on the phone beside the user, served by bandlog.

WebView is a FrontEnd like the window and the terminal: on the pipeline's thread it notes when
samples arrive, builds at most `fps` delta frames a second from the model (web_frames) and hands
them to the server's own thread (web_server), so a slow phone or network never slows the recording.
Ratings tapped on the page are queued by the server and passed to `on_rating` here, on the
pipeline's thread, at the next pipeline callback (or at the end): the callback may write to the log.
By default it listens on 127.0.0.1 only; lan=True listens on every interface behind a random token.
"""

from __future__ import annotations

import io
import logging
import queue
import secrets
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bandlog.core.errors import BandlogError
from bandlog.live.model import LiveModel
from bandlog.live.pacing import FramePacer
from bandlog.live.web_frames import FrameBuilder
from bandlog.live.web_protocol import Rating, RatingCallback, coach_frame
from bandlog.live.web_server import WebServer

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

log = logging.getLogger(__name__)

WEB_FPS = 20.0
LOCAL_HOST = "127.0.0.1"
LAN_HOST = "0.0.0.0"
TOKEN_BYTES = 16



def lan_address() -> str:
    """This machine's address on the local network, for the URL a phone opens (the hostname if unknown).

    connect() on a UDP socket sends nothing: it only asks the kernel which interface routes outward.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): never contacted
            address = str(probe.getsockname()[0])
        if not address.startswith("127."):
            return address
    except OSError:
        pass
    return socket.gethostname()


class WebView:
    """Serves the live model to browsers; the URL to open is `url` (with the token in LAN mode)."""

    name = "web"

    def __init__(
        self,
        model: LiveModel,
        lan: bool = False,
        port: int = 0,
        on_rating: RatingCallback | None = None,
        fps: float = WEB_FPS,
        clock: Callable[[], float] = time.perf_counter,
        wall_ms: Callable[[], float] = lambda: time.time() * 1000.0,
    ) -> None:
        """Starts listening at once (ConfigError if the port is taken), so the page can open before the first rep."""
        self.model = model
        self.lan = lan
        self.on_rating = on_rating
        self.pacer = FramePacer(fps, clock)
        self.wall_ms = wall_ms
        self.token = secrets.token_urlsafe(TOKEN_BYTES) if lan else None
        self.builder = FrameBuilder(model)
        self.ratings: dict[int, dict[str, int | None]] = {}
        self.ratings_failed = 0
        self._incoming: queue.SimpleQueue[tuple[Rating, ServerConnection]] = queue.SimpleQueue()
        self._seen_samples = 0
        self._arrived_ms: tuple[float, float] | None = None
        self._sent_version = -1
        self._ratings_changed = False
        """A rating stored since the last frame: the pages show it with the next one."""
        self._closed = False
        self.server = WebServer(LAN_HOST if lan else LOCAL_HOST, port, self.token, self._queue_rating)
        self.server.start()
        query = "" if self.token is None else f"?token={self.token}"
        self.local_url = f"http://{LOCAL_HOST}:{self.server.port}/{query}"
        """The URL on this machine (tests, the bench, a browser on the laptop)."""
        self.local_socket_url = f"ws://{LOCAL_HOST}:{self.server.port}/ws{query}"
        self.url = f"http://{lan_address()}:{self.server.port}/{query}" if lan else self.local_url
        log.info("live web view at %s", self.url)

    # --- FrontEnd ---

    def frame(self) -> bool:
        """Note newly arrived samples, pass on ratings, and send a frame if one is due; cheap when not."""
        if self._closed:
            return False
        total = self.model.samples_total
        if total != self._seen_samples:
            self._seen_samples = total
            now_ms = self.wall_ms()
            self._arrived_ms = (self._arrived_ms[0] if self._arrived_ms else now_ms, now_ms)
        self._ratings_changed |= self._deliver_ratings()
        if self.model.version == self._sent_version and not self._ratings_changed:
            return False
        return self.pacer.offer(self._send)

    def draw_final(self) -> None:
        """The end-of-set frame (summary, every count), sent at once, not paced."""
        if self._closed:
            return
        self._deliver_ratings()
        start = self.pacer.now()
        self._send()
        self.pacer.record(start, self.pacer.now())

    def close(self) -> None:
        """Send what is left, then close every page's socket and the port (the thread ends)."""
        if self._closed:
            return
        self._ratings_changed |= self._deliver_ratings()
        if self._ratings_changed or self.model.version != self._sent_version:
            self._send()
        self._closed = True
        self.server.stop()
        self._deliver_ratings(answer=False)  # sent while the server was stopping: still stored
        if self.server.messages_refused:
            log.warning("the live web view refused %d message(s) from the page (see above)", self.server.messages_refused)

    def stats(self) -> dict[str, float]:
        return {**self.pacer.stats(), **self.server.stats(), "ratings": len(self.ratings), "ratings_failed": self.ratings_failed}

    # --- the terminal announcement (the CLI prints it) ---

    def qr_text(self) -> str:
        """The URL as a QR code in block characters, for a phone to scan from the terminal."""
        import segno

        out = io.StringIO()
        segno.make(self.url, error="m").terminal(out=out, compact=True, border=2)
        return out.getvalue()

    # --- internals ---

    def _send(self) -> None:
        coach = coach_frame(self.model.coach_view)
        frame = self.builder.next_frame(coach, self.ratings, self._arrived_ms, self.wall_ms())
        self._arrived_ms = None
        self._sent_version = self.model.version
        self._ratings_changed = False
        self.server.publish(frame)

    def _queue_rating(self, rating: Rating, client: ServerConnection) -> None:
        """On the server's thread: keep it for the pipeline's thread."""
        self._incoming.put((rating, client))

    def _deliver_ratings(self, answer: bool = True) -> bool:
        delivered = False
        while not self._incoming.empty():
            rating, client = self._incoming.get_nowait()
            reply = self._store(rating)
            delivered = True
            if answer:
                self.server.reply(client, reply)
        return delivered

    def _store(self, rating: Rating) -> dict[str, Any]:
        if self.on_rating is None:
            self.ratings_failed += 1
            log.warning("set %d rated from the page, but this recording does not store ratings", rating.set_number)
            return {"type": "refused", "reason": "this recording does not store ratings"}
        try:
            self.on_rating(rating.set_number, rating.rpe, rating.pain)
        except BandlogError as error:
            self.ratings_failed += 1
            log.warning("rating of set %d not stored: %s", rating.set_number, error)
            return {"type": "refused", "reason": str(error)}
        except Exception as error:  # a storing bug must not stop the recording: the page and the log say so
            self.ratings_failed += 1
            log.exception("rating of set %d not stored", rating.set_number)
            return {"type": "refused", "reason": f"not stored: {error}"}
        self.ratings[rating.set_number] = {"rpe": rating.rpe, "pain": rating.pain}
        log.info("set %d rated from the page: RPE %s, pain %s", rating.set_number, rating.rpe, rating.pain)
        return {"type": "ack", "rating": rating.as_dict()}
