"""Drive Debian's headless Chromium over the DevTools protocol, for the web view's browser tests and bench.

Not `chromium --screenshot` / `--dump-dom`: those capture the page at its load event, before the
live view's WebSocket has delivered a frame. Here the page is opened, a JavaScript condition is
awaited (e.g. "the rep counter shows 3"), and only then the screenshot is taken or the DOM read.
The protocol goes over a plain WebSocket, with the `websockets` library bandlog already depends on.

    with Chromium() as browser:
        page = browser.open("http://127.0.0.1:8765/", width=430, height=932)
        page.wait_for("document.getElementById('reps').textContent === '3'")
        page.screenshot(Path("shot.png")); html = page.dom()
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = "chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio", "--remote-debugging-port=0")
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0
PROFILE_REMOVE_TRIES = 5


def chromium_path() -> str | None:
    return shutil.which(CHROMIUM)


class Page:
    """One tab, attached with a flat session over the browser's DevTools socket."""

    def __init__(self, browser: Chromium, session_id: str) -> None:
        self.browser = browser
        self.session_id = session_id

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.call(method, session_id=self.session_id, **params)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable values only)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} failed in the page: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 20.0, poll_s: float = 0.05) -> Any:
        """Poll until the expression is truthy (an exception, e.g. before the page loaded, counts as not yet)."""
        deadline = time.monotonic() + timeout_s
        last_error = ""
        while True:
            try:
                value = self.evaluate(expression)
            except RuntimeError as error:
                value, last_error = None, str(error)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never satisfied {expression!r} within {timeout_s:.0f} s {last_error}")
            time.sleep(poll_s)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def dom(self) -> str:
        """The live DOM as HTML, as `chromium --dump-dom` prints it."""
        return str(self.evaluate("document.documentElement.outerHTML"))


class Chromium:
    """A headless Chromium in a private profile folder; ends with the `with` block."""

    def __init__(self, executable: str | None = None) -> None:
        found = executable or chromium_path()
        if found is None:
            raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
        self.executable = found
        self._profile = tempfile.TemporaryDirectory(prefix="bandlog-chromium-")
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: ClientConnection | None = None
        self._stack = contextlib.ExitStack()
        self._next_id = 0

    def __enter__(self) -> Chromium:
        profile = Path(self._profile.name)
        self._process = subprocess.Popen([self.executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("headless chromium did not open its DevTools port")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._socket = self._stack.enter_context(connect(f"ws://127.0.0.1:{port}{path}", max_size=2**27,
                                                         open_timeout=START_TIMEOUT_S))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stack.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._remove_profile()

    def _remove_profile(self) -> None:
        """Delete the profile folder: Chromium's helper processes can still be writing to it just
        after the browser itself exits (`Directory not empty: 'Default'`), so a few tries."""
        for _ in range(PROFILE_REMOVE_TRIES - 1):
            try:
                self._profile.cleanup()
                return
            except OSError:
                time.sleep(0.2)
        self._profile.cleanup()

    def call(self, method: str, session_id: str | None = None, **params: Any) -> dict[str, Any]:
        """One DevTools command and its result (events that arrive meanwhile are skipped)."""
        assert self._socket is not None, "use Chromium() in a with block"
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session_id is not None:
            message["sessionId"] = session_id
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while True:
            reply = json.loads(self._socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))

    def open(self, url: str, width: int = 430, height: int = 932, dark: bool = False) -> Page:
        """A new tab the size of a phone held upright (CSS pixels), showing `url`."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        page = Page(self, self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"])
        page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=True)
        page.call("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
        page.call("Page.navigate", url=url)
        return page
